import { chmodSync, closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** fsyncDir makes a rename or unlink in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * writeAtomic writes `text` to `path` with `mode` so that a crash at any moment leaves either the
 * old file or the new one, never a mix: a temporary file is written and fsynced, renamed over
 * `path`, and the directory fsynced.
 */
export function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** renameDurable renames `from` to `to` and fsyncs the directory. */
export function renameDurable(from: string, to: string): void {
  renameSync(from, to);
  fsyncDir(dirname(to));
}

/** removeDurable deletes `path` if it exists and fsyncs the directory. */
export function removeDurable(path: string): void {
  rmSync(path, { force: true });
  fsyncDir(dirname(path));
}
