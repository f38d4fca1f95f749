import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
let hooked = false;

/**
 * tempDir makes a fresh directory under the system temp dir and returns its path. Every directory
 * made this way is removed when the process exits (each test file runs in its own process), so
 * tests need no cleanup of their own; `removeTempDir` removes one earlier. Test-only.
 */
export function tempDir(prefix = 'palisade-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** removeTempDir removes a directory now (and forgets it). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const i = made.indexOf(dir);
  if (i >= 0) made.splice(i, 1);
}
