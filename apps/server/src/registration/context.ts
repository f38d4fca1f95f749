import type { Clock, Logger } from '@palisade/common';
import type { Endpoints } from '@palisade/protocol';
import type { Storage } from '@palisade/storage';
import type { ResponseHooks } from '../telemetry/agent-connection.js';
import type { TlsMaterial } from '../tls/tls-files.js';

/** RegistrationContext is what the registration and check-in routes need from the server. */
export interface RegistrationContext {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  tls: TlsMaterial;
  /** Where agents reach the services; known once the listeners are bound. */
  endpoints(): Endpoints;
  /** Seconds between agent heartbeats. */
  heartbeatIntervalS: number;
  /** The response side: the agent's isolation report in, the desired state and restore code out. */
  response?: ResponseHooks;
}
