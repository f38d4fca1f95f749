import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type DropReport, emptyDropReport } from './drop-report.js';

/** SpoolState is the small part of the spool that is not in the segments themselves. */
export interface SpoolState {
  /** Every batch up to and including this sequence was acked by the server. */
  ackedSeq: number;
  /** Highest sequence ever sealed, so a number is never reused after its segment is deleted. */
  lastSeq: number;
  drops: DropReport;
  /** Corrupt regions found in segments that have since been deleted. */
  corruptRecords: number;
  /** Corrupt regions per segment still on disk, so a restart does not count them twice. */
  corruptBySegment: Record<string, number>;
}

const FILE = 'spool-state.json';

/** SpoolStateError says the state file exists but cannot be trusted. */
export class SpoolStateError extends Error {
  override name = 'SpoolStateError';
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** loadSpoolState reads the state file of `dir`, or a fresh state when there is none. */
export function loadSpoolState(dir: string): SpoolState {
  const path = join(dir, FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { ackedSeq: 0, lastSeq: 0, drops: emptyDropReport(), corruptRecords: 0, corruptBySegment: {} };
    }
    throw err;
  }
  let s: Partial<SpoolState>;
  try {
    s = JSON.parse(text) as Partial<SpoolState>;
  } catch (err) {
    throw new SpoolStateError(`${path} is not valid JSON (${(err as Error).message})`);
  }
  const d = s.drops;
  if (
    !isCount(s.ackedSeq) ||
    !isCount(s.lastSeq) ||
    !isCount(s.corruptRecords) ||
    typeof s.corruptBySegment !== 'object' ||
    !d ||
    !isCount(d.events) ||
    !isCount(d.batches) ||
    typeof d.byClass !== 'object'
  ) {
    throw new SpoolStateError(`${path} has missing or invalid fields`);
  }
  return s as SpoolState;
}

/**
 * saveSpoolState replaces the state file atomically (write, fsync, rename, fsync the directory), so
 * after a crash it is either the old or the new state, never a mix.
 */
export function saveSpoolState(dir: string, state: SpoolState): void {
  const path = join(dir, FILE);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
