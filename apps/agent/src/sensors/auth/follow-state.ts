import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validCursor } from './journal-entry.js';

/** FilePosition is where a follower stopped in one file: which file (device + inode) and where. */
export interface FilePosition {
  dev: number;
  ino: number;
  offset: number;
}

/** JournalPosition is where the journal reader stopped: the last entry's cursor and its time. */
export interface JournalPosition {
  cursor: string;
  /** That entry's reception time, µs since the epoch: where to resume if the cursor is refused. */
  realtimeUs: number;
}

type Saved = FilePosition | JournalPosition;

/** STATE_FILE_NAME is the file the auth sensor keeps its positions in, inside its state dir. */
export const STATE_FILE_NAME = 'auth-sensor-positions.json';

/**
 * FollowStateStore keeps every follower's position in one small JSON file, replaced atomically
 * (write to a temporary file, then rename) so a crash leaves the old or the new state, never half.
 */
export class FollowStateStore {
  private readonly path: string;
  private positions: Record<string, Saved> = {};

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, STATE_FILE_NAME);
    this.positions = load(this.path);
  }

  get(key: string): FilePosition | undefined {
    const p = this.positions[key];
    return p && isFilePosition(p) ? p : undefined;
  }

  /** set records a position and writes the file when it changed. */
  set(key: string, pos: FilePosition): void {
    const old = this.get(key);
    if (old && old.dev === pos.dev && old.ino === pos.ino && old.offset === pos.offset) return;
    this.save(key, { dev: pos.dev, ino: pos.ino, offset: pos.offset });
  }

  getJournal(key: string): JournalPosition | undefined {
    const p = this.positions[key];
    return p && isJournalPosition(p) ? p : undefined;
  }

  /** setJournal records a journal position (null forgets it) and writes the file when it changed. */
  setJournal(key: string, pos: JournalPosition | null): void {
    const old = this.getJournal(key);
    if (pos === null ? !old : old?.cursor === pos.cursor) return;
    this.save(key, pos && { cursor: pos.cursor, realtimeUs: pos.realtimeUs });
  }

  private save(key: string, value: Saved | null): void {
    if (value) this.positions[key] = value;
    else delete this.positions[key];
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.positions), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

function isFilePosition(p: object): p is FilePosition {
  const o = p as Record<string, unknown>;
  return [o.dev, o.ino, o.offset].every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0);
}

function isJournalPosition(p: object): p is JournalPosition {
  const o = p as Record<string, unknown>;
  return (
    validCursor(o.cursor) &&
    typeof o.realtimeUs === 'number' &&
    Number.isSafeInteger(o.realtimeUs) &&
    o.realtimeUs >= 0
  );
}

function valid(p: unknown): p is Saved {
  return typeof p === 'object' && p !== null && (isFilePosition(p) || isJournalPosition(p));
}

/** A missing or damaged state file means "no saved positions": followers start at the end. */
function load(path: string): Record<string, Saved> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
  const out: Record<string, Saved> = {};
  if (typeof raw === 'object' && raw !== null) {
    for (const [k, v] of Object.entries(raw)) if (valid(v)) out[k] = v;
  }
  return out;
}
