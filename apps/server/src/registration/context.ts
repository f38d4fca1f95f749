import type { Clock, Logger } from '@palisade/common';
import type { Endpoints } from '@palisade/protocol';
import type { Storage } from '@palisade/storage';
import type { ServerTls } from '../tls/server-tls.js';
import type { ResponseHooks } from '../telemetry/agent-connection.js';

/** RegistrationContext is what the registration and check-in routes need from the server. */
export interface RegistrationContext {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** The live TLS material (the CA that signs, the CAs agents pin). */
  tls: ServerTls;
  /** Where agents reach the services; known once the listeners are bound. */
  endpoints(): Endpoints;
  /** Seconds between agent heartbeats. */
  heartbeatIntervalS: number;
  /** The response side: the agent's isolation report in, the desired state and restore code out. */
  response?: ResponseHooks;
}
