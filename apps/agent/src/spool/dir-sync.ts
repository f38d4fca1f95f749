import { closeSync, fsyncSync, openSync } from 'node:fs';

/** SyncDir makes a directory's entries durable; injectable so tests can see that it happens. */
export type SyncDir = (dir: string) => void;

/**
 * fsyncDir fsyncs a directory, so files created in it and renames within it survive a power
 * loss (fsync of a file does not make its directory entry durable).
 */
export const fsyncDir: SyncDir = (dir) => {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};
