/**
 * records.ts decodes the binary records the eBPF helper writes (layouts in
 * apps/agent/sensor-bpf/src/records.h — change both together). Decoding never throws on bad
 * input: it returns a RecordError naming what was wrong, so the stream can count it and resync.
 */
import { componentsToPath } from './paths.js';

/** REC_MAGIC starts every record ("PA", little-endian). */
export const REC_MAGIC = 0x5041;
/** REC_VERSION is the record layout version the helper announces in its hello record. */
export const REC_VERSION = 2;
/** HEADER_SIZE is the size of the common record header. */
export const HEADER_SIZE = 64;
/** DATA_OFFSET is where a kernel record's variable data starts. */
export const DATA_OFFSET = 128;
/** MAX_RECORD_SIZE bounds a record; anything larger is garbage. */
export const MAX_RECORD_SIZE = DATA_OFFSET + 20480;

/** Kind numbers a record may carry. */
export const Kind = {
  Exec: 1,
  Exit: 2,
  Connect: 3,
  Accept: 4,
  Close: 5,
  Dns: 6,
  Open: 7,
  Unlink: 8,
  Rename: 9,
  Listen: 10,
  Udp: 11,
  Inject: 12,
  Setid: 13,
  Hello: 100,
  Stats: 101,
  Ack: 102,
} as const;

/** KIND_NAMES names the kernel kinds, indexed by number (for drop counters and logs). */
export const KIND_NAMES: Record<number, string> = {
  1: 'exec',
  2: 'exit',
  3: 'connect',
  4: 'accept',
  5: 'close',
  6: 'dns',
  7: 'open',
  8: 'unlink',
  9: 'rename',
  10: 'listen',
  11: 'udp',
  12: 'inject',
  13: 'setid',
};

/** INJECTION_TYPES names inject_body.type (records.h INJ_*). */
export const INJECTION_TYPES: Record<number, string> = {
  1: 'ptrace_attach',
  2: 'ptrace_seize',
  3: 'ptrace_poke',
  4: 'process_vm_writev',
};

/** Credentials are struct rec_creds. */
export interface Credentials {
  uid: number;
  euid: number;
  suid: number;
  fsuid: number;
  gid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  capEffective: bigint;
  capPermitted: bigint;
}

export interface InjectRecord extends RecordHeader {
  kind: 12;
  /** The target as the actor named it (a thread id, in the actor's pid namespace). */
  targetPid: number;
  type: number;
  addr: bigint;
  bytes: number;
}

export interface SetidRecord extends RecordHeader {
  kind: 13;
  before: Credentials;
  after: Credentials;
  /** 1: a set*id()/capset() syscall (syscallNr), 2: the exec of a setuid/setgid/capability binary. */
  how: number;
  syscallNr: number;
}

/** Outcome is net_body.outcome (records.h O_*). */
export const Outcome = { Open: 0, Refused: 1, Failed: 2, Traffic: 3 } as const;

/**
 * NET_BODY gives the offsets, in the record, of struct net_body's fields (the body starts after
 * the 64-byte header). records-contract.test.ts compiles records.h and checks them.
 */
export const NET_BODY = {
  family: 64,
  protocol: 66,
  lport: 68,
  rport: 70,
  laddr: 72,
  raddr: 88,
  bytes_in: 104,
  bytes_out: 112,
  direction: 120,
  outcome: 121,
  payload_len: 122,
  err: 124,
  packets: 126,
} as const;

const F_ARGV_TRUNC = 1;
const F_PATH1_TRUNC = 2;
const F_PATH2_TRUNC = 4;
const F_CREATED = 8;
const F_ABS1 = 16;
const F_ABS2 = 32;
const F_EXE_NOFILE = 64;
const F_EXE_DELETED = 128;

/** EXEC_EXT is struct exec_ext (records.h): its size and field offsets within the data area. */
export const EXEC_EXT = {
  size: 56,
  ino: 0,
  size_: 8,
  mtime_sec: 16,
  mtime_nsec: 24,
  dev: 28,
  nlink: 32,
  pid_ns: 36,
  mnt_ns: 40,
  net_ns: 44,
  cgroup_len: 48,
} as const;

/** RecordHeader is what every kernel record says about the acting thread. */
export interface RecordHeader {
  kind: number;
  /** CLOCK_BOOTTIME nanoseconds, as a double (exact to well under a millisecond). */
  tsNs: number;
  /** Thread-group leader start time, CLOCK_BOOTTIME ns. */
  startNs: number;
  pid: number;
  tid: number;
  ppid: number;
  uid: number;
  gid: number;
  flags: number;
  comm: string;
}

export interface ExecRecord extends RecordHeader {
  kind: 1;
  euid: number;
  egid: number;
  auid: number;
  sessionId: number;
  cgroupId: bigint;
  argv: string[];
  argvTruncated: boolean;
  exe: string;
  cwd: string;
  tty: string;
  /** The executable has no file on disk (memfd_create): exe is "memfd:NAME". */
  exeNoFile: boolean;
  /** The executable's file had no links left when it was executed. */
  exeDeleted: boolean;
  /** The executable's identity as the kernel saw it (dev is the kernel's major << 20 | minor). */
  exeIno: number;
  exeDev: number;
  exeSize: number;
  exeMtimeSec: number;
  exeMtimeNsec: number;
  pidNs: number;
  mntNs: number;
  netNs: number;
  /** cgroup v2 path ("/system.slice/x.service"). */
  cgroupPath: string;
}

export interface ExitRecord extends RecordHeader {
  kind: 2;
  /** Exit status (0..255) when the process exited by itself. */
  status: number;
  /** Signal number when the process was killed by a signal, else 0. */
  signal: number;
  /** The process's executable had no links left when it exited (deleted after exec). */
  exeDeleted: boolean;
}

export interface NetRecord extends RecordHeader {
  kind: 3 | 4 | 5 | 6 | 10 | 11;
  family: 4 | 6;
  protocol: number;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  bytesIn: number;
  bytesOut: number;
  /** 1 inbound, 2 outbound. */
  direction: number;
  /** Outcome.*: a connect's result; for UDP, first datagram (Open) or traffic since the last record. */
  outcome: number;
  /** errno of a failed connect (0: closed by the process before it completed). */
  err: number;
  /** UDP: datagrams counted in bytesIn + bytesOut. */
  packets: number;
  payload: Buffer;
}

export interface FileRecord extends RecordHeader {
  kind: 7 | 8 | 9;
  openFlags: number;
  created: boolean;
  /** Absolute path (for rename: the old name). Best effort, see README. */
  path: string;
  /** Rename only: the new name. */
  newPath: string;
  truncated: boolean;
}

export interface HelloRecord {
  kind: 100;
  version: number;
  helperPid: number;
  realtimeMinusBoottimeNs: number;
  ringbufBytes: number;
}

export interface StatsRecord {
  kind: 101;
  realtimeMinusBoottimeNs: number;
  drops: number[];
  emitted: number[];
  /** Noisy records the kernel's per-process limit held back, per kind. */
  suppressed: number[];
}

export interface AckRecord {
  kind: 102;
  seq: number;
}

/** BpfRecord is any decoded record. */
export type BpfRecord =
  | ExecRecord
  | ExitRecord
  | NetRecord
  | FileRecord
  | InjectRecord
  | SetidRecord
  | HelloRecord
  | StatsRecord
  | AckRecord;

/** RecordError describes a record that could not be decoded. */
export class RecordError extends Error {
  override name = 'RecordError';
}

function u64(b: Buffer, off: number): number {
  return b.readUInt32LE(off + 4) * 4294967296 + b.readUInt32LE(off);
}

function s64(b: Buffer, off: number): number {
  return b.readInt32LE(off + 4) * 4294967296 + b.readUInt32LE(off);
}

function cstr(b: Buffer, start: number, end: number): string {
  const z = b.indexOf(0, start);
  return b.toString('utf8', start, z < 0 || z > end ? end : z);
}

function ip(b: Buffer, off: number, family: number): string {
  if (family === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  // An IPv4 peer of a dual-stack socket (::ffff:a.b.c.d) is shown as the IPv4 address it is.
  if (b.readUInt32BE(off) === 0 && b.readUInt32BE(off + 4) === 0 && b.readUInt32BE(off + 8) === 0xffff) {
    return `${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(off + i).toString(16));
  const s = parts.join(':');
  // Compress the longest run of zero groups, as inet_ntop does.
  const runs = s.match(/(?:^|:)0(?::0)+(?::|$)/g);
  if (!runs) return s;
  const longest = runs.reduce((a, c) => (c.length > a.length ? c : a));
  return s.replace(longest, '::');
}

function header(b: Buffer): RecordHeader {
  return {
    kind: b.readUInt16LE(2),
    tsNs: u64(b, 8),
    startNs: u64(b, 16),
    pid: b.readUInt32LE(24),
    tid: b.readUInt32LE(28),
    ppid: b.readUInt32LE(32),
    uid: b.readUInt32LE(36),
    gid: b.readUInt32LE(40),
    flags: b.readUInt32LE(44),
    comm: cstr(b, 48, 64),
  };
}

function need(b: Buffer, size: number, what: string): void {
  if (b.length < size) throw new RecordError(`${what} record of ${b.length} bytes is shorter than ${size}`);
}

function span(b: Buffer, start: number, len: number, what: string): number {
  if (start + len > b.length) throw new RecordError(`${what} runs past the end of the record`);
  return start + len;
}

/** decodeRecord decodes one complete record (its size already checked against its header). */
export function decodeRecord(b: Buffer): BpfRecord {
  need(b, HEADER_SIZE, 'any');
  const kind = b.readUInt16LE(2);
  switch (kind) {
    case Kind.Exec:
      return decodeExec(b);
    case Kind.Exit: {
      need(b, HEADER_SIZE + 8, 'exit');
      const code = b.readUInt32LE(64);
      const r = header(b) as ExitRecord;
      r.status = (code >> 8) & 0xff;
      r.signal = code & 0x7f;
      r.exeDeleted = (r.flags & F_EXE_DELETED) !== 0;
      return r;
    }
    case Kind.Connect:
    case Kind.Accept:
    case Kind.Close:
    case Kind.Dns:
    case Kind.Listen:
    case Kind.Udp:
      return decodeNet(b);
    case Kind.Open:
    case Kind.Unlink:
    case Kind.Rename:
      return decodeFile(b);
    case Kind.Inject: {
      need(b, HEADER_SIZE + 32, 'inject');
      const r = header(b) as InjectRecord;
      r.targetPid = b.readUInt32LE(64);
      r.type = b.readUInt32LE(68);
      r.addr = b.readBigUInt64LE(72);
      r.bytes = u64(b, 80);
      return r;
    }
    case Kind.Setid: {
      need(b, DATA_OFFSET + 48, 'setid');
      const r = header(b) as SetidRecord;
      r.before = creds(b, 64);
      r.how = b.readUInt32LE(112);
      r.syscallNr = b.readUInt32LE(116);
      r.after = creds(b, DATA_OFFSET);
      return r;
    }
    case Kind.Hello:
      need(b, HEADER_SIZE + 24, 'hello');
      return {
        kind: 100,
        version: b.readUInt32LE(64),
        helperPid: b.readUInt32LE(68),
        realtimeMinusBoottimeNs: s64(b, 72),
        ringbufBytes: b.readUInt32LE(80),
      };
    case Kind.Stats: {
      need(b, HEADER_SIZE + 8 + 3 * 16 * 8, 'stats');
      const drops: number[] = [];
      const emitted: number[] = [];
      const suppressed: number[] = [];
      for (let i = 0; i < 16; i++) {
        drops.push(u64(b, 72 + i * 8));
        emitted.push(u64(b, 200 + i * 8));
        suppressed.push(u64(b, 328 + i * 8));
      }
      return { kind: 101, realtimeMinusBoottimeNs: s64(b, 64), drops, emitted, suppressed };
    }
    case Kind.Ack:
      need(b, HEADER_SIZE + 8, 'ack');
      return { kind: 102, seq: b.readUInt32LE(64) };
    default:
      throw new RecordError(`unknown record kind ${kind}`);
  }
}

function creds(b: Buffer, off: number): Credentials {
  return {
    uid: b.readUInt32LE(off),
    euid: b.readUInt32LE(off + 4),
    suid: b.readUInt32LE(off + 8),
    fsuid: b.readUInt32LE(off + 12),
    gid: b.readUInt32LE(off + 16),
    egid: b.readUInt32LE(off + 20),
    sgid: b.readUInt32LE(off + 24),
    fsgid: b.readUInt32LE(off + 28),
    capEffective: b.readBigUInt64LE(off + 32),
    capPermitted: b.readBigUInt64LE(off + 40),
  };
}

function decodeExec(b: Buffer): ExecRecord {
  need(b, DATA_OFFSET, 'exec');
  const argvLen = b.readUInt16LE(88);
  const exeLen = b.readUInt16LE(90);
  const cwdLen = b.readUInt16LE(92);
  const x = span(b, DATA_OFFSET, EXEC_EXT.size, 'exec identity') - EXEC_EXT.size;
  const cgroupLen = b.readUInt16LE(x + EXEC_EXT.cgroup_len);
  const argvEnd = span(b, x + EXEC_EXT.size, argvLen, 'exec argv');
  const exeEnd = span(b, argvEnd, exeLen, 'exec exe path');
  const cwdEnd = span(b, exeEnd, cwdLen, 'exec cwd path');
  const cgEnd = span(b, cwdEnd, cgroupLen, 'exec cgroup path');
  // argv is NUL-separated with a trailing NUL; a truncated copy may end mid-argument.
  let argvText = b.toString('utf8', x + EXEC_EXT.size, argvEnd);
  if (argvText.endsWith('\0')) argvText = argvText.slice(0, -1);
  // Fields are added to the header object rather than spread into a new one: this runs for
  // every record and a spread of a dozen fields costs more than the rest of the decode.
  const r = header(b) as ExecRecord;
  r.euid = b.readUInt32LE(64);
  r.egid = b.readUInt32LE(68);
  r.auid = b.readUInt32LE(72);
  r.sessionId = b.readUInt32LE(76);
  r.cgroupId = b.readBigUInt64LE(80);
  r.argv = argvText === '' ? [] : argvText.split('\0');
  r.argvTruncated = (r.flags & F_ARGV_TRUNC) !== 0;
  r.exeNoFile = (r.flags & F_EXE_NOFILE) !== 0;
  r.exeDeleted = (r.flags & F_EXE_DELETED) !== 0;
  r.exe = r.exeNoFile ? cstr(b, argvEnd, exeEnd) : componentsToPath(b, argvEnd, exeEnd);
  r.cwd = componentsToPath(b, exeEnd, cwdEnd);
  r.cgroupPath = componentsToPath(b, cwdEnd, cgEnd);
  r.exeIno = u64(b, x + EXEC_EXT.ino);
  r.exeSize = u64(b, x + EXEC_EXT.size_);
  r.exeMtimeSec = s64(b, x + EXEC_EXT.mtime_sec);
  r.exeMtimeNsec = b.readUInt32LE(x + EXEC_EXT.mtime_nsec);
  r.exeDev = b.readUInt32LE(x + EXEC_EXT.dev);
  r.pidNs = b.readUInt32LE(x + EXEC_EXT.pid_ns);
  r.mntNs = b.readUInt32LE(x + EXEC_EXT.mnt_ns);
  r.netNs = b.readUInt32LE(x + EXEC_EXT.net_ns);
  r.tty = cstr(b, 96, 128);
  return r;
}

function decodeNet(b: Buffer): NetRecord {
  need(b, DATA_OFFSET, 'network');
  const fam = b.readUInt16LE(NET_BODY.family);
  if (fam !== 2 && fam !== 10) throw new RecordError(`network record with address family ${fam}`);
  const family = fam === 2 ? 4 : 6;
  const payloadLen = b.readUInt16LE(NET_BODY.payload_len);
  const end = span(b, DATA_OFFSET, payloadLen, 'network payload');
  const r = header(b) as NetRecord;
  r.family = family;
  r.protocol = b.readUInt16LE(NET_BODY.protocol);
  r.localPort = b.readUInt16LE(NET_BODY.lport);
  r.remotePort = b.readUInt16LE(NET_BODY.rport);
  r.localIp = ip(b, NET_BODY.laddr, family);
  r.remoteIp = ip(b, NET_BODY.raddr, family);
  r.bytesIn = u64(b, NET_BODY.bytes_in);
  r.bytesOut = u64(b, NET_BODY.bytes_out);
  r.direction = b[NET_BODY.direction] ?? 0;
  r.outcome = b[NET_BODY.outcome] ?? 0;
  r.err = b.readUInt16LE(NET_BODY.err);
  r.packets = b.readUInt16LE(NET_BODY.packets);
  r.payload = b.subarray(DATA_OFFSET, end);
  return r;
}

function decodeFile(b: Buffer): FileRecord {
  need(b, DATA_OFFSET, 'file');
  const h = header(b);
  const n1 = b.readUInt16LE(68);
  const d1 = b.readUInt16LE(70);
  const n2 = b.readUInt16LE(72);
  const d2 = b.readUInt16LE(74);
  const n1End = span(b, DATA_OFFSET, n1, 'file name');
  const d1End = span(b, n1End, d1, 'file directory');
  const n2End = span(b, d1End, n2, 'new file name');
  const d2End = span(b, n2End, d2, 'new file directory');
  let path: string;
  if (h.kind === Kind.Open) path = componentsToPath(b, n1End, d1End);
  else
    path = joinName(cstr(b, DATA_OFFSET, n1End), h.flags & F_ABS1 ? '' : componentsToPath(b, n1End, d1End));
  const newPath =
    h.kind === Kind.Rename
      ? joinName(cstr(b, d1End, n2End), h.flags & F_ABS2 ? '' : componentsToPath(b, n2End, d2End))
      : '';
  const r = h as FileRecord;
  r.openFlags = b.readUInt32LE(64);
  r.created = (h.flags & F_CREATED) !== 0;
  r.path = path;
  r.newPath = newPath;
  r.truncated = (h.flags & (F_PATH1_TRUNC | F_PATH2_TRUNC)) !== 0;
  return r;
}

function joinName(name: string, dir: string): string {
  if (name.startsWith('/')) return normalize(name);
  return normalize(`${dir}/${name}`);
}

/** normalize resolves `.`, `..` and repeated slashes lexically (symlinks are not followed). */
export function normalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}
