import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** StateLockError says another live agent already uses the state directory. */
export class StateLockError extends Error {
  override name = 'StateLockError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * lockStateDir makes sure only one agent uses a state directory: two would send the same spool
 * twice and fight over the identity. A lock left by a dead process (kill -9, power loss) is taken
 * over. Returns the function that releases the lock.
 */
export function lockStateDir(stateDir: string): () => void {
  const path = join(stateDir, 'agent.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new StateLockError(
          `another agent (pid ${owner}) is already running with state directory ${stateDir}`,
        );
      }
      unlinkSync(path); // stale: its process is gone
    }
  }
  throw new StateLockError(`could not lock state directory ${stateDir}`);
}
