import type { Logger } from '@palisade/common';

/** StateLockError says another agent already holds the state directory. */
export class StateLockError extends Error {
  override name = 'StateLockError';
}

/** LOCK_FILE_NAME is the lock file in the state directory; it also holds the holder's pid, for people. */
export const LOCK_FILE_NAME = 'agent.lock';

/** ReleaseLock gives the lock up (idempotent). The kernel also releases it when the holder dies. */
export type ReleaseLock = () => void;

/**
 * StateLocker takes the single-instance lock of a state directory on one platform, or throws
 * StateLockError naming the holder. The lock must be one the operating system drops when its
 * holder dies (crash, kill -9, reboot), never a comparison of pids.
 */
export type StateLocker = (stateDir: string, log: Logger) => ReleaseLock;
