import type { Clock, Logger } from '@palisade/common';
import { type Identity, hasIdentity, loadIdentity } from './identity-store.js';
import { RegistrationError } from './register.js';
import { registerWithRetry } from './register-with-retry.js';

/** ObtainIdentityOptions say where the identity lives and how to register if there is none. */
export interface ObtainIdentityOptions {
  stateDir: string;
  serverUrl?: string;
  /** The key, or where to get it: only asked for when the agent still has to register. */
  registrationKey?: string | (() => string | undefined);
  caPem?: string;
  signal?: AbortSignal;
  logger: Logger;
  /** The clock of the renewal schedule. @default the system clock */
  clock?: Clock;
}

/**
 * obtainIdentity loads the identity from the state directory, or, only when there is none,
 * registers (retrying while the server is unreachable). Missing registration details and a
 * non-https URL are RegistrationErrors that say what to give.
 */
export async function obtainIdentity(o: ObtainIdentityOptions): Promise<Identity> {
  if (hasIdentity(o.stateDir)) return loadIdentity(o.stateDir);
  if (!o.serverUrl) {
    throw new RegistrationError(
      'not_registered',
      'this agent is not registered yet: give the registration URL (--server)',
    );
  }
  const registrationKey = typeof o.registrationKey === 'function' ? o.registrationKey() : o.registrationKey;
  if (!registrationKey) {
    throw new RegistrationError(
      'not_registered',
      'this agent is not registered yet: give a registration key (--registration-key-file, PALISADE_REGISTRATION_KEY or the config file)',
    );
  }
  let url: URL;
  try {
    url = new URL(o.serverUrl);
  } catch {
    throw new RegistrationError('bad_url', `registration URL "${o.serverUrl}" is not a URL`);
  }
  if (url.protocol !== 'https:') {
    throw new RegistrationError('bad_url', `registration URL "${o.serverUrl}" must use https://`);
  }
  return registerWithRetry({
    stateDir: o.stateDir,
    serverUrl: o.serverUrl,
    registrationKey,
    caPem: o.caPem,
    logger: o.logger,
    signal: o.signal,
    ...(o.clock ? { clock: o.clock } : {}),
  });
}
