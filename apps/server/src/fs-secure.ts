import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';

/** ensurePrivateDir creates `dir` (and parents) and makes it 0700: it holds keys and secrets. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * writePrivateFile writes `data` to `path` with mode 0600, atomically (temp file + rename) so a
 * crash never leaves a half-written key behind.
 */
export function writePrivateFile(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
