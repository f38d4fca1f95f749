import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { type ExeHash, type ExeHashSource, type ExeIdentity, HashState } from './exe-hash.js';

export { HashState };

export interface ExeHasherOptions {
  /** Most bytes hashed per second (a token bucket holding one second's worth). @default 32 MiB */
  bytesPerSecond?: number;
  /** Files larger than this are not hashed. @default 256 MiB */
  maxFileBytes?: number;
  /** Hashes kept. @default 8192 */
  maxEntries?: number;
  /** Files waiting for the budget (each holds an open descriptor). @default 64 */
  maxPending?: number;
  now?: () => number;
}

const CHUNK = 1 << 20;

/** userDev turns the kernel's dev_t into the encoding stat() reports. */
function userDev(kdev: number): number {
  const major = Math.floor(kdev / 2 ** 20);
  const minor = kdev & 0xfffff;
  return (minor & 0xff) + major * 256 + (minor & ~0xff) * 4096;
}

/**
 * ExeHasher computes the SHA-256 of executables, once per (device, inode, size, mtime), and keeps
 * the results in an LRU. Hashing is capped at `bytesPerSecond`: a file that fits what the budget
 * holds now is hashed at once; one that does not is marked pending, kept open and hashed when the
 * budget has refilled (later execs of it then carry the hash); beyond `maxPending` waiting files,
 * or for files larger than `maxFileBytes`, or that cannot be opened as the file the kernel ran,
 * the hash is skipped. The file is opened through /proc/PID/exe while the process lives, so
 * deleted and memfd executables are hashed too, and its identity is checked against the kernel's
 * before a byte is read.
 */
export class ExeHasher implements ExeHashSource {
  private readonly done = new Map<string, string>();
  private readonly pending = new Map<string, number>();
  private readonly rate: number;
  private readonly maxFile: number;
  private readonly maxEntries: number;
  private readonly maxPending: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;
  private timer: NodeJS.Timeout | undefined;
  /** Bytes hashed, files hashed, hashes skipped, cache hits: for stats and tests. */
  readonly counts = { bytes: 0, files: 0, skipped: 0, hits: 0, deferred: 0 };

  constructor(opts: ExeHasherOptions = {}) {
    this.rate = opts.bytesPerSecond ?? 32 * 1024 * 1024;
    this.maxFile = opts.maxFileBytes ?? 256 * 1024 * 1024;
    this.maxEntries = opts.maxEntries ?? 8192;
    this.maxPending = opts.maxPending ?? 64;
    this.now = opts.now ?? Date.now;
    this.tokens = this.rate;
    this.last = this.now();
  }

  /** hash returns the executable's hash, or its state when it is not known (yet). */
  hash(pid: number, path: string, id: ExeIdentity): ExeHash {
    const key = `${id.dev}:${id.ino}:${id.size}:${id.mtimeSec}.${id.mtimeNsec}`;
    const known = this.done.get(key);
    if (known !== undefined) {
      this.counts.hits++;
      this.done.delete(key);
      this.done.set(key, known);
      return { sha256: known, state: HashState.Done };
    }
    if (this.pending.has(key)) return { sha256: '', state: HashState.Pending };
    if (id.size > this.maxFile) {
      this.counts.skipped++;
      return { sha256: '', state: HashState.Skipped };
    }
    const fd = this.open(pid, path, id);
    if (fd === undefined) {
      this.counts.skipped++;
      return { sha256: '', state: HashState.Skipped };
    }
    this.refill();
    if (id.size <= this.tokens) {
      const h = this.digest(fd, key, id.size);
      return h ? { sha256: h, state: HashState.Done } : { sha256: '', state: HashState.Skipped };
    }
    if (this.pending.size >= this.maxPending) {
      closeSync(fd);
      this.counts.skipped++;
      return { sha256: '', state: HashState.Skipped };
    }
    this.pending.set(key, fd);
    this.counts.deferred++;
    this.schedule();
    return { sha256: '', state: HashState.Pending };
  }

  /** close releases the descriptors of pending files. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const fd of this.pending.values()) closeSync(fd);
    this.pending.clear();
  }

  private open(pid: number, path: string, id: ExeIdentity): number | undefined {
    for (const p of [`/proc/${pid}/exe`, path]) {
      let fd: number | undefined;
      try {
        fd = openSync(p, 'r');
        const st = fstatSync(fd, { bigint: true });
        if (
          Number(st.ino) === id.ino &&
          Number(st.size) === id.size &&
          Number(st.dev) === userDev(id.dev) &&
          st.mtimeNs === BigInt(id.mtimeSec) * 1_000_000_000n + BigInt(id.mtimeNsec)
        ) {
          return fd;
        }
        closeSync(fd);
      } catch {
        if (fd !== undefined) closeSync(fd);
      }
    }
    return undefined;
  }

  private digest(fd: number, key: string, size: number): string | undefined {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
    let total = 0;
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, total);
        if (n <= 0) break;
        h.update(buf.subarray(0, n));
        total += n;
      }
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
    this.tokens -= total;
    this.counts.bytes += total;
    this.counts.files++;
    const hex = h.digest('hex');
    this.done.set(key, hex);
    if (this.done.size > this.maxEntries) this.done.delete(this.done.keys().next().value as string);
    return hex;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }

  private schedule(): void {
    if (this.timer || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, 100);
    this.timer.unref();
  }

  /** drain hashes the pending files the budget allows now, oldest first. */
  private drain(): void {
    this.refill();
    for (const [key, fd] of this.pending) {
      const size = fstatSync(fd).size;
      if (size > this.tokens && this.tokens < this.rate) break;
      this.pending.delete(key);
      this.digest(fd, key, size);
    }
    this.schedule();
  }
}
