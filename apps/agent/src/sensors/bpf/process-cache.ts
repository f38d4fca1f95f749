import { processUniqueId } from '../../process-identity.js';
import type { ProcSnapshot } from './proc-reader.linux.js';
import type { ExecRecord, RecordHeader } from './records.js';

/** ProcessEntry is what the agent knows about one process (one pid + start time). */
export interface ProcessEntry {
  /** Stable unique id: hash of boot id, pid and start time; a reused pid gets a new one. */
  uniqueId: string;
  pid: number;
  ppid: number;
  startTicks: number;
  createdTimeMs: number;
  name: string;
  path: string;
  argv: string[];
  argvTruncated: boolean;
  cmdLine: string;
  cwd: string;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  auid: number;
  sessionId: number;
  tty: string;
  cgroupId: bigint;
  parentUniqueId: string;
  exited: boolean;
  /** What the exec record adds (absent for processes known from /proc only). */
  facts?: ProcessFacts;
  /** The rendered wire message, cached by the event mapper (opaque here). */
  message?: unknown;
}

/** ProcessFacts are what an exec record says beyond /proc's basics. */
export interface ProcessFacts {
  exeNoFile: boolean;
  exeDeleted: boolean;
  sha256: string;
  hashState: number;
  pidNs: number;
  mntNs: number;
  netNs: number;
  cgroupPath: string;
  containerId: string;
  containerRuntime: string;
}

/** ProcessCacheOptions configure the cache. */
export interface ProcessCacheOptions {
  /** Most processes kept; the least recently used is evicted. @default 4096 */
  maxEntries?: number;
  /**
   * Most exited processes kept (for events that trail the exit, such as the close of its
   * sockets); beyond it the earliest exited goes first. @default 256
   */
  maxExited?: number;
  bootId: string;
  /** Wall-clock ms at boot (CLOCK_REALTIME minus CLOCK_BOOTTIME), for start times. */
  bootWallMs: () => number;
  /** Reads a live process from /proc; injected so tests can script it. */
  readProc: (pid: number) => ProcSnapshot | null;
}

/** NS_PER_TICK converts kernel start times (ns) to /proc's clock ticks (USER_HZ is 100). */
const NS_PER_TICK = 10_000_000;

/** cmdLineOf joins argv as a shell would show it, quoting arguments that need it. */
export function cmdLineOf(argv: readonly string[]): string {
  return argv.map((a) => (a === '' || /[\s"'\\$`]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' ');
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/**
 * ProcessCache is the agent-side process table: an LRU of ProcessEntry keyed by pid + start time,
 * bounded by `maxEntries` (each entry holds at most one 4 KiB argv, so the default cap keeps it
 * under ~20 MiB in the worst case and far less in practice). Exec records create entries;
 * network and file records look their process up, and a process the sensor never saw start is
 * read from /proc once (or, if it is gone, described from the record and its parent).
 */
export class ProcessCache {
  private readonly entries = new Map<string, ProcessEntry>();
  private readonly byPid = new Map<number, string>();
  /** Keys of exited processes still cached, in the order they exited. */
  private readonly exitedKeys = new Set<string>();
  private readonly maxEntries: number;
  private readonly maxExited: number;
  /** How many times /proc was read for a process the cache did not know. */
  procReads = 0;

  constructor(private readonly opts: ProcessCacheOptions) {
    this.maxEntries = opts.maxEntries ?? 4096;
    this.maxExited = opts.maxExited ?? 256;
  }

  get size(): number {
    return this.entries.size;
  }

  /** uniqueId derives the stable id of a process. */
  uniqueId(pid: number, startTicks: number): string {
    return processUniqueId(this.opts.bootId, pid, startTicks);
  }

  /** fromExec records a process image from an exec record and returns its entry. */
  fromExec(r: ExecRecord, facts?: ProcessFacts): ProcessEntry {
    const startTicks = Math.floor(r.startNs / NS_PER_TICK);
    const parent = this.byPidLookup(r.ppid, true);
    const e: ProcessEntry = {
      uniqueId: this.uniqueId(r.pid, startTicks),
      pid: r.pid,
      ppid: r.ppid,
      startTicks,
      createdTimeMs: Math.round(this.opts.bootWallMs() + r.startNs / 1e6),
      name: basename(r.exe) || r.comm,
      path: r.exe,
      argv: r.argv,
      argvTruncated: r.argvTruncated,
      cmdLine: cmdLineOf(r.argv),
      cwd: r.cwd,
      uid: r.uid,
      gid: r.gid,
      euid: r.euid,
      egid: r.egid,
      auid: r.auid,
      sessionId: r.sessionId,
      tty: r.tty,
      cgroupId: r.cgroupId,
      parentUniqueId: parent?.uniqueId ?? '',
      exited: false,
      ...(facts ? { facts } : {}),
    };
    this.put(e);
    return e;
  }

  /** lookup finds the process a record's header names, creating an entry if needed. */
  lookup(h: RecordHeader): ProcessEntry {
    const startTicks = Math.floor(h.startNs / NS_PER_TICK);
    const key = `${h.pid}:${startTicks}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.touch(key, hit);
      return hit;
    }
    this.procReads++;
    const snap = this.opts.readProc(h.pid);
    const e =
      snap && snap.startTicks === startTicks
        ? this.fromSnapshot(snap)
        : this.fromHeader(h, startTicks, this.byPidLookup(h.ppid, false));
    this.put(e);
    return e;
  }

  /**
   * markExited notes that `e` has exited. It stays for the events that trail its exit (its
   * sockets close after the exit record), but only the last `maxExited` exited processes do:
   * an exec storm of short-lived processes must not fill the cache with the dead.
   */
  markExited(e: ProcessEntry): void {
    e.exited = true;
    const key = `${e.pid}:${e.startTicks}`;
    if (this.entries.get(key) !== e) return;
    this.exitedKeys.delete(key);
    this.exitedKeys.add(key);
    while (this.exitedKeys.size > this.maxExited) {
      const oldest = this.exitedKeys.values().next().value as string;
      this.remove(oldest);
    }
  }

  /**
   * seed records processes that were running before the sensor started (from /proc), parents
   * first, so that their later events (even right before they exit) name them fully. Stops at
   * the cache cap.
   */
  seed(snaps: ProcSnapshot[]): void {
    const byPid = new Map(snaps.map((s) => [s.pid, s]));
    const done = new Set<number>();
    const add = (s: ProcSnapshot, depth: number): void => {
      if (done.has(s.pid) || this.entries.size >= this.maxEntries) return;
      done.add(s.pid);
      const parent = byPid.get(s.ppid);
      if (parent && depth < 64) add(parent, depth + 1);
      this.put(this.fromSnapshot(s));
    };
    for (const s of snaps) add(s, 0);
  }

  /** parentOf returns the cached parent of `e`, if known. */
  parentOf(e: ProcessEntry): ProcessEntry | undefined {
    const key = this.byPid.get(e.ppid);
    const p = key ? this.entries.get(key) : undefined;
    return p && (e.parentUniqueId === '' || p.uniqueId === e.parentUniqueId) ? p : undefined;
  }

  /** findPid returns the live process with this pid, reading /proc if the cache lacks it. */
  findPid(pid: number): ProcessEntry | undefined {
    return this.byPidLookup(pid, true);
  }

  private byPidLookup(pid: number, readIfMissing: boolean): ProcessEntry | undefined {
    if (pid <= 0) return undefined;
    const key = this.byPid.get(pid);
    const hit = key ? this.entries.get(key) : undefined;
    if (hit || !readIfMissing) return hit;
    this.procReads++;
    const snap = this.opts.readProc(pid);
    if (!snap) return undefined;
    const e = this.fromSnapshot(snap);
    this.put(e);
    return e;
  }

  private fromSnapshot(s: ProcSnapshot): ProcessEntry {
    const parent = this.byPidLookup(s.ppid, false);
    return {
      ...blank(),
      uniqueId: this.uniqueId(s.pid, s.startTicks),
      pid: s.pid,
      ppid: s.ppid,
      startTicks: s.startTicks,
      createdTimeMs: Math.round(this.opts.bootWallMs() + s.startTicks * 10),
      name: basename(s.exe) || s.comm,
      path: s.exe,
      argv: s.argv,
      cmdLine: cmdLineOf(s.argv),
      cwd: s.cwd,
      uid: s.uid,
      euid: s.uid,
      parentUniqueId: parent?.uniqueId ?? '',
    };
  }

  /** A process gone before we could read it: a forked child runs its parent's image. */
  private fromHeader(h: RecordHeader, startTicks: number, parent: ProcessEntry | undefined): ProcessEntry {
    return {
      ...blank(),
      uniqueId: this.uniqueId(h.pid, startTicks),
      pid: h.pid,
      ppid: h.ppid,
      startTicks,
      createdTimeMs: Math.round(this.opts.bootWallMs() + h.startNs / 1e6),
      name: parent?.name || h.comm,
      path: parent?.path ?? '',
      argv: parent?.argv ?? [],
      cmdLine: parent?.cmdLine ?? '',
      cwd: parent?.cwd ?? '',
      uid: h.uid,
      gid: h.gid,
      euid: h.uid,
      egid: h.gid,
      parentUniqueId: parent?.uniqueId ?? '',
    };
  }

  private put(e: ProcessEntry): void {
    const key = `${e.pid}:${e.startTicks}`;
    this.entries.delete(key);
    this.entries.set(key, e);
    this.byPid.set(e.pid, key);
    this.exitedKeys.delete(key);
    while (this.entries.size > this.maxEntries) this.remove(this.entries.keys().next().value as string);
  }

  private remove(key: string): void {
    const old = this.entries.get(key);
    this.entries.delete(key);
    this.exitedKeys.delete(key);
    if (old && this.byPid.get(old.pid) === key) this.byPid.delete(old.pid);
  }

  private touch(key: string, e: ProcessEntry): void {
    this.entries.delete(key);
    this.entries.set(key, e);
  }
}

function blank(): Omit<ProcessEntry, 'uniqueId' | 'pid' | 'ppid' | 'startTicks' | 'createdTimeMs'> {
  return {
    name: '',
    path: '',
    argv: [],
    argvTruncated: false,
    cmdLine: '',
    cwd: '',
    uid: 0,
    gid: 0,
    euid: 0,
    egid: 0,
    auid: 0xffffffff,
    sessionId: 0xffffffff,
    tty: '',
    cgroupId: 0n,
    parentUniqueId: '',
    exited: false,
  };
}
