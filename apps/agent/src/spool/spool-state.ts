import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, type SyncDir } from './dir-sync.js';
import { type DropReport, emptyDropReport } from './drop-report.js';
import type { SpoolCipher } from './spool-cipher.js';

/** STATE_MAGIC starts an encrypted state file ("PSST"); a plain one (before ADR 0032) is JSON. */
const STATE_MAGIC = Buffer.from('PSST', 'latin1');
/** The AAD of the state blob: it cannot be swapped with a segment record (their AAD differs). */
const STATE_AAD = Buffer.from('palisade spool state v1');

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

/** STATE_FILE is the spool's state file in its directory. */
export const STATE_FILE = 'spool-state.json';
/** Where a damaged state file is kept for people to look at (the last one only). */
export const DAMAGED_STATE_FILE = `${STATE_FILE}.damaged`;

/** SpoolStateError says the state file cannot be read at all (an I/O error, not damage). */
export class SpoolStateError extends Error {
  override name = 'SpoolStateError';
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isCountMap(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isCount);
}

/** freshSpoolState is the state of a spool that has never sealed anything. */
export function freshSpoolState(): SpoolState {
  return { ackedSeq: 0, lastSeq: 0, drops: emptyDropReport(), corruptRecords: 0, corruptBySegment: {} };
}

/** problem says what is wrong with a parsed state file, or '' when it is a SpoolState. */
function problem(s: unknown): string {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return 'not a JSON object';
  const o = s as Record<string, unknown>;
  for (const k of ['ackedSeq', 'lastSeq', 'corruptRecords'])
    if (!isCount(o[k])) return `"${k}" is not a count`;
  if ((o.ackedSeq as number) > (o.lastSeq as number)) return '"ackedSeq" is above "lastSeq"';
  if (!isCountMap(o.corruptBySegment)) return '"corruptBySegment" is not a map of counts';
  const d = o.drops as Record<string, unknown> | undefined;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return '"drops" is not an object';
  for (const k of ['events', 'batches', 'firstTimeMs', 'lastTimeMs'])
    if (!isCount(d[k])) return `"drops.${k}" is not a count`;
  if (!isCountMap(d.byClass)) return '"drops.byClass" is not a map of counts';
  return '';
}

/** LoadedSpoolState is what loadSpoolState found. */
export interface LoadedSpoolState {
  state: SpoolState;
  /**
   * Set when the state is not the file's: it is missing, or it was damaged (and moved to
   * DAMAGED_STATE_FILE); `why` says which. The spool then rebuilds the state from the segments
   * (spool.ts), unless a missing file means a new spool.
   */
  lost?: { missing: boolean; why: string };
  /** The file was plain JSON although a key was given (a spool from before encryption): save it again. */
  plaintext?: boolean;
}

/**
 * loadSpoolState reads the state file of `dir` (encrypted, or plain JSON from before encryption). A file that is not valid JSON (torn, garbage)
 * or not a SpoolState, or an encrypted one that does not authenticate, is not an error: it is moved aside as DAMAGED_STATE_FILE and a fresh state
 * is returned with `lost` saying why. Only an unreadable file (EACCES, EIO) throws.
 */
export function loadSpoolState(
  dir: string,
  syncDir: SyncDir = fsyncDir,
  cipher?: SpoolCipher,
): LoadedSpoolState {
  const path = join(dir, STATE_FILE);
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return { state: freshSpoolState(), lost: { missing: true, why: `${path} is missing` } };
    throw new SpoolStateError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let why: string;
  const sealed = raw.subarray(0, STATE_MAGIC.byteLength).equals(STATE_MAGIC);
  try {
    let text: string;
    if (sealed) {
      if (!cipher) throw new Error('it is encrypted and no spool key was given');
      text = cipher.open(raw.subarray(STATE_MAGIC.byteLength), STATE_AAD).toString('utf8');
    } else text = raw.toString('utf8');
    const s = JSON.parse(text) as unknown;
    why = problem(s);
    if (!why) return { state: s as SpoolState, ...(cipher && !sealed ? { plaintext: true } : {}) };
  } catch (err) {
    why = sealed ? `unreadable (${(err as Error).message})` : `not valid JSON (${(err as Error).message})`;
  }
  renameSync(path, join(dir, DAMAGED_STATE_FILE));
  syncDir(dir);
  return { state: freshSpoolState(), lost: { missing: false, why: `${path} was damaged: ${why}` } };
}

/**
 * saveSpoolState replaces the state file atomically (encrypted under `cipher` when given: "PSST"
 * and a SpoolCipher blob) (write, fsync, rename, fsync the directory), so
 * after a crash it is either the old or the new state, never a mix.
 */
export function saveSpoolState(
  dir: string,
  state: SpoolState,
  syncDir: SyncDir = fsyncDir,
  cipher?: SpoolCipher,
): void {
  const path = join(dir, STATE_FILE);
  const tmp = `${path}.tmp`;
  const json = Buffer.from(JSON.stringify(state));
  const bytes = cipher ? Buffer.concat([STATE_MAGIC, cipher.seal(json, STATE_AAD)]) : json;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dir);
}
