/** UTMP_RECORD_SIZE is sizeof(struct utmp) on x86_64 and aarch64 glibc. */
export const UTMP_RECORD_SIZE = 384;

/** UtmpType is ut_type. */
export const UtmpType = {
  Empty: 0,
  RunLevel: 1,
  BootTime: 2,
  NewTime: 3,
  OldTime: 4,
  InitProcess: 5,
  LoginProcess: 6,
  UserProcess: 7,
  DeadProcess: 8,
  Accounting: 9,
} as const;

/** UtmpRecord is one decoded struct utmp (wtmp, btmp). */
export interface UtmpRecord {
  type: number;
  pid: number;
  /** Terminal without /dev/: "pts/0", "tty1", "ssh:notty". */
  line: string;
  id: string;
  user: string;
  /** Remote host name or address, '' for local logins. */
  host: string;
  session: number;
  timeMs: number;
  /** ut_addr_v6 as an address, '' when zero. */
  addr: string;
}

// Offsets in glibc's struct utmp (bits/utmp.h), 64-bit ABI with 32-bit time fields.
const OFF = {
  type: 0,
  pid: 4,
  line: 8,
  id: 40,
  user: 44,
  host: 76,
  session: 336,
  sec: 340,
  usec: 344,
  addr: 348,
};
const LEN = { line: 32, id: 4, user: 32, host: 256 };

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  // Names are attacker-influenced (btmp holds whatever was typed): keep only printable text.
  return s
    .subarray(0, nul < 0 ? len : nul)
    .toString('utf8')
    .replace(/\p{Cc}/gu, '?');
}

function address(b: Buffer): string {
  const a = b.subarray(OFF.addr, OFF.addr + 16);
  if (a.every((x) => x === 0)) return '';
  // IPv4 is stored in the first word, the other three are zero.
  if (a.subarray(4).every((x) => x === 0)) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(a.readUInt16BE(i).toString(16));
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** parseUtmpRecord decodes one 384-byte record; it returns null for a buffer of another size. */
export function parseUtmpRecord(b: Buffer): UtmpRecord | null {
  if (b.length !== UTMP_RECORD_SIZE) return null;
  return {
    type: b.readInt16LE(OFF.type),
    pid: b.readInt32LE(OFF.pid),
    line: cstr(b, OFF.line, LEN.line),
    id: cstr(b, OFF.id, LEN.id),
    user: cstr(b, OFF.user, LEN.user),
    host: cstr(b, OFF.host, LEN.host),
    session: b.readInt32LE(OFF.session),
    timeMs: b.readUInt32LE(OFF.sec) * 1000 + Math.floor(b.readInt32LE(OFF.usec) / 1000),
    addr: address(b),
  };
}

/** encodeUtmpRecord is the inverse of parseUtmpRecord (tests write wtmp/btmp files with it). */
export function encodeUtmpRecord(r: Partial<UtmpRecord> & { type: number }): Buffer {
  const b = Buffer.alloc(UTMP_RECORD_SIZE);
  b.writeInt16LE(r.type, OFF.type);
  b.writeInt32LE(r.pid ?? 0, OFF.pid);
  b.write(r.line ?? '', OFF.line, LEN.line, 'utf8');
  b.write(r.id ?? '', OFF.id, LEN.id, 'utf8');
  b.write(r.user ?? '', OFF.user, LEN.user, 'utf8');
  b.write(r.host ?? '', OFF.host, LEN.host, 'utf8');
  b.writeInt32LE(r.session ?? 0, OFF.session);
  const ms = r.timeMs ?? 0;
  b.writeUInt32LE(Math.floor(ms / 1000), OFF.sec);
  b.writeInt32LE((ms % 1000) * 1000, OFF.usec);
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(r.addr ?? '');
  if (v4) for (let i = 0; i < 4; i++) b[OFF.addr + i] = Number(v4[i + 1]);
  return b;
}
