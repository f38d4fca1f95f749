import { Backoff, type Logger } from '@palisade/common';
import type { Identity } from './identity-store.js';
import { type RegisterOptions, RegistrationError, register } from './register.js';

/** RegistrationAborted says the agent was stopped before it could register. */
export class RegistrationAborted extends Error {
  override name = 'RegistrationAborted';
}

/**
 * registerWithRetry registers, retrying with jittered backoff while the server is unreachable or
 * failing (network errors, 5xx), so an agent installed before its server is up enrols when the
 * server appears. A refusal (RegistrationError: bad key, bad request) is final and thrown at once.
 */
export async function registerWithRetry(
  opts: RegisterOptions & { signal?: AbortSignal; backoff?: Backoff; logger: Logger },
): Promise<Identity> {
  const backoff = opts.backoff ?? new Backoff({ initialMs: 1000, maxMs: 60_000 });
  for (;;) {
    if (opts.signal?.aborted) throw new RegistrationAborted('stopped before registration completed');
    try {
      return await register(opts);
    } catch (err) {
      if (err instanceof RegistrationError) throw err;
      const delay = backoff.next();
      opts.logger.warn(
        { err: (err as Error).message, retryInMs: delay },
        'registration service unreachable or failing; retrying',
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', done);
          resolve();
        }
        opts.signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}
