import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** FilePosition is where a follower stopped in one file: which file (device + inode) and where. */
export interface FilePosition {
  dev: number;
  ino: number;
  offset: number;
}

/** STATE_FILE_NAME is the file the auth sensor keeps its positions in, inside its state dir. */
export const STATE_FILE_NAME = 'auth-sensor-positions.json';

/**
 * FollowStateStore keeps every follower's position in one small JSON file, replaced atomically
 * (write to a temporary file, then rename) so a crash leaves the old or the new state, never half.
 */
export class FollowStateStore {
  private readonly path: string;
  private positions: Record<string, FilePosition> = {};

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, STATE_FILE_NAME);
    this.positions = load(this.path);
  }

  get(key: string): FilePosition | undefined {
    return this.positions[key];
  }

  /** set records a position and writes the file when it changed. */
  set(key: string, pos: FilePosition): void {
    const old = this.positions[key];
    if (old && old.dev === pos.dev && old.ino === pos.ino && old.offset === pos.offset) return;
    this.positions[key] = { ...pos };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.positions), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

function valid(p: unknown): p is FilePosition {
  if (typeof p !== 'object' || p === null) return false;
  const o = p as Record<string, unknown>;
  return [o.dev, o.ino, o.offset].every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0);
}

/** A missing or damaged state file means "no saved positions": followers start at the end. */
function load(path: string): Record<string, FilePosition> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
  const out: Record<string, FilePosition> = {};
  if (typeof raw === 'object' && raw !== null) {
    for (const [k, v] of Object.entries(raw)) if (valid(v)) out[k] = v;
  }
  return out;
}
