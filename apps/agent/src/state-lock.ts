import { type Logger, silentLogger } from '@palisade/common';
import { type ReleaseLock, StateLockError, type StateLocker } from './state-lock-contract.js';
import { lockWithFlock } from './state-lock.linux.js';

export { LOCK_FILE_NAME, type ReleaseLock, StateLockError, type StateLocker } from './state-lock-contract.js';

/** The lock of each platform the agent runs on. */
const LOCKERS: Partial<Record<NodeJS.Platform, StateLocker>> = { linux: lockWithFlock };

/**
 * lockStateDir makes sure only one agent uses a state directory: two would send the same spool
 * twice and fight over the identity. Returns the function that releases the lock.
 */
export function lockStateDir(
  stateDir: string,
  log: Logger = silentLogger,
  locker: StateLocker | undefined = LOCKERS[process.platform],
): ReleaseLock {
  if (!locker) throw new StateLockError(`no single-instance lock is implemented for ${process.platform}`);
  return locker(stateDir, log);
}
