import { closeSync, type FSWatcher, fstatSync, openSync, readSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '@palisade/common';
import type { FollowStateStore } from './follow-state.js';
import type { Framer } from './framers.js';

/** FollowerOptions configure one FileFollower. */
export interface FollowerOptions<T> {
  path: string;
  framer: Framer<T>;
  onItems: (items: T[]) => void;
  store: FollowStateStore;
  /** Key of this file in the state store. @default path */
  stateKey?: string;
  /** Safety poll in case a watch event is missed (or the directory cannot be watched). @default 5000 */
  pollMs?: number;
  /** Where to look for the previous file after a rotation while stopped. @default [`${path}.1`] */
  rotatedNames?: string[];
  logger: Logger;
}

/** FollowerStatus is what the follower is doing, for capability reports. */
export type FollowerStatus = { state: 'following' } | { state: 'waiting'; reason: string };

const CHUNK = 64 * 1024;
/** Bytes read per turn before yielding to the event loop, so a huge backlog does not stall it. */
const TURN_BUDGET = 1024 * 1024;

/**
 * FileFollower follows a file like `tail -F`: from the end on first sight, from the saved
 * position (device, inode, offset) after a restart, across rename rotation (drains the old file,
 * then reads the new one from its start) and copytruncate (a file that shrank is read again
 * from 0). It wakes on fs.watch of the directory plus a slow safety poll.
 */
export class FileFollower<T> {
  private fd: number | null = null;
  private dev = 0;
  private ino = 0;
  private offset = 0;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private again = false;
  private stopped = false;
  private readonly key: string;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private lastStatus: FollowerStatus = { state: 'waiting', reason: 'not started' };
  /** Times the file was replaced (rotation) or shrank (copytruncate). */
  rotations = 0;
  truncations = 0;

  constructor(private readonly o: FollowerOptions<T>) {
    this.key = o.stateKey ?? o.path;
  }

  status(): FollowerStatus {
    return this.lastStatus;
  }

  /** start opens the file (or notes why it cannot) and begins following. It never throws. */
  start(): void {
    this.openInitial();
    try {
      const base = basename(this.o.path);
      this.watcher = watch(dirname(this.o.path), { persistent: false }, (_ev, name) => {
        if (name === null || name === base) this.kick();
      });
      this.watcher.on('error', () => this.closeWatcher());
    } catch {
      // No watchable directory: the poll still works.
    }
    this.timer = setInterval(() => this.kick(), this.o.pollMs ?? 5000);
    this.timer.unref();
    this.kick();
  }

  /** stop reads nothing more, saves the position and closes the file. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.closeWatcher();
    this.save();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** kick schedules a read turn; turns never overlap. */
  kick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    let more = false;
    try {
      if (!this.stopped) more = this.step();
    } catch (err) {
      this.o.logger.warn({ err: String(err), path: this.o.path }, 'auth log follower error');
    }
    this.busy = false;
    if (more || this.again) {
      this.again = false;
      this.kick();
    }
  }

  private openInitial(): void {
    const st = statOrNull(this.o.path);
    const saved = this.o.store.get(this.key);
    if (!st) {
      // The file may appear later (a syslog daemon started): then it is read from its start.
      this.lastStatus = { state: 'waiting', reason: `${this.o.path} does not exist` };
      return;
    }
    if (saved && saved.dev === st.dev && saved.ino === st.ino) {
      this.open(saved.offset <= st.size ? saved.offset : 0);
    } else if (saved) {
      // Rotated while we were stopped: finish the old file first if it is still around.
      this.drainRotated(saved);
      this.open(0);
    } else {
      this.open(st.size);
    }
  }

  private drainRotated(saved: { dev: number; ino: number; offset: number }): void {
    for (const name of this.o.rotatedNames ?? [`${this.o.path}.1`]) {
      const st = statOrNull(name);
      if (!st || st.dev !== saved.dev || st.ino !== saved.ino) continue;
      let fd: number;
      try {
        fd = openSync(name, 'r');
      } catch {
        return;
      }
      try {
        let pos = saved.offset;
        for (;;) {
          const n = readSync(fd, this.buf, 0, CHUNK, pos);
          if (n <= 0) break;
          pos += n;
          this.deliver(this.o.framer.push(this.buf.subarray(0, n)));
        }
        this.deliver(this.o.framer.flush());
      } finally {
        closeSync(fd);
      }
      return;
    }
  }

  /** open makes `path` the followed file, at `offset`. */
  private open(offset: number): boolean {
    let fd: number;
    try {
      fd = openSync(this.o.path, 'r');
    } catch (err) {
      this.lastStatus = { state: 'waiting', reason: `cannot open ${this.o.path}: ${(err as Error).message}` };
      return false;
    }
    const st = fstatSync(fd);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = fd;
    this.dev = st.dev;
    this.ino = st.ino;
    this.offset = Math.min(offset, st.size);
    this.o.framer.reset();
    this.lastStatus = { state: 'following' };
    this.save();
    return true;
  }

  /** step reads what is new; returns true when there is more to read right away. */
  private step(): boolean {
    if (this.fd === null) {
      if (!statOrNull(this.o.path) || !this.open(0)) return false;
    }
    const fd = this.fd!;
    if (fstatSync(fd).size < this.offset) {
      // copytruncate: the file was emptied in place and may have been written again since.
      this.truncations++;
      this.offset = 0;
      this.o.framer.reset();
    }
    let budget = TURN_BUDGET;
    while (budget > 0) {
      const n = readSync(fd, this.buf, 0, CHUNK, this.offset);
      if (n <= 0) break;
      this.offset += n;
      budget -= n;
      this.deliver(this.o.framer.push(this.buf.subarray(0, n)));
    }
    this.save();
    if (budget <= 0) return true;
    const st = statOrNull(this.o.path);
    if (st && (st.ino !== this.ino || st.dev !== this.dev)) {
      // Renamed away and replaced: the old file is drained (the loop above hit its end), so a
      // last unterminated line there is complete. Then follow the new file from its start.
      this.deliver(this.o.framer.flush());
      this.rotations++;
      return this.open(0);
    }
    return false;
  }

  private deliver(items: T[]): void {
    if (items.length) this.o.onItems(items);
  }

  private save(): void {
    if (this.fd === null) return;
    const offset = this.offset - this.o.framer.pendingBytes;
    try {
      this.o.store.set(this.key, { dev: this.dev, ino: this.ino, offset });
    } catch (err) {
      this.o.logger.warn({ err: String(err) }, 'cannot save auth follower position');
    }
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}

function statOrNull(path: string): { dev: number; ino: number; size: number } | null {
  try {
    const st = statSync(path);
    return st.isFile() ? { dev: st.dev, ino: st.ino, size: st.size } : null;
  } catch {
    return null;
  }
}
