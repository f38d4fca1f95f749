import type { SyslogEnvelope } from './syslog-envelope.js';
import type { JournalSender } from './trusted-programs.js';

/**
 * JOURNAL_FIELDS are the fields the readers print (`--output-fields`; __CURSOR and
 * __REALTIME_TIMESTAMP always come too). Those starting with `_` are set by journald, not by the
 * sender: they say who really sent the record (trusted-programs.ts).
 */
export const JOURNAL_FIELDS = [
  '_SOURCE_REALTIME_TIMESTAMP',
  'SYSLOG_IDENTIFIER',
  'SYSLOG_PID',
  '_PID',
  '_UID',
  '_COMM',
  '_EXE',
  '_CAP_EFFECTIVE',
  '_HOSTNAME',
  'MESSAGE',
] as const;

/** JournalEntry is one systemd journal entry as `journalctl --output=json` prints it, made safe. */
export interface JournalEntry {
  /** Where the entry is in the journal; `journalctl --after-cursor` resumes after it. */
  cursor: string;
  /** Wall-clock time the entry was received, microseconds since the epoch (for --since). */
  realtimeUs: number;
  /** What the sender says: its name (SYSLOG_IDENTIFIER) and pid (SYSLOG_PID), the message. */
  envelope: SyslogEnvelope;
  /** Who sent it, from journald's own fields (each absent when the entry lacks it or it is invalid). */
  sender: JournalSender;
  /** The entry rendered as rsyslog's RSYSLOG_FileFormat line (what auth.log would hold). */
  line: string;
}

/** A journal cursor: `s=<hex>;i=<hex>;b=<hex>;m=<hex>;t=<hex>;x=<hex>` (systemd 252 writes these six). */
const CURSOR = /^[a-z]=[0-9a-f]{1,64}(?:;[a-z]=[0-9a-f]{1,64}){1,15}$/;

/** validCursor tells whether `s` looks like a journal cursor (so it is safe to hand to journalctl). */
export function validCursor(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 512 && CURSOR.test(s);
}

const DIGITS = /^\d{1,19}$/;
/** Program names as syslog tags carry them: short, no spaces, colons or brackets. */
const PROGRAM = /^[^\s:[\]]{1,64}$/;

/**
 * field returns a journal field as text. journalctl prints a field as a string, as an array of
 * byte values when it is not valid UTF-8 or has control characters, as null when it was too
 * big to show, and as an array of those when the entry has the field more than once (the first
 * is used). Nothing deeper is a journal field.
 */
function field(v: unknown, repeated = false): string | undefined {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v) || v.length === 0) return undefined;
  if (v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))
    return Buffer.from(v as number[]).toString('utf8');
  return repeated ? undefined : field(v[0], true);
}

/** Control characters (a newline in MESSAGE would forge a second log line) become spaces. */
function oneLine(s: string): string {
  return s.replace(/\p{Cc}/gu, ' ');
}

function rfc3339Micro(us: number): string {
  const ms = Math.floor(us / 1000);
  const micro = String(us % 1_000_000).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${micro}+00:00`;
}

/** A decimal id (pid, uid) as journald writes it, or undefined. */
function id32(v: unknown): number | undefined {
  const s = field(v);
  return s !== undefined && /^\d{1,10}$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : undefined;
}

function sender(e: Record<string, unknown>): JournalSender {
  const out: JournalSender = {};
  const pid = id32(e._PID);
  if (pid !== undefined) out.pid = pid;
  const uid = id32(e._UID);
  if (uid !== undefined) out.uid = uid;
  const comm = field(e._COMM);
  if (comm) out.comm = oneLine(comm).slice(0, 64);
  // Kept exactly as journald wrote it (it is compared with paths), but only an absolute path.
  const exe = field(e._EXE);
  if (exe?.startsWith('/') && exe.length <= 4096 && !/\p{Cc}/u.test(exe)) out.exe = exe;
  const cap = field(e._CAP_EFFECTIVE);
  if (cap !== undefined && /^[0-9a-f]{1,16}$/.test(cap)) out.capEffective = BigInt(`0x${cap}`);
  return out;
}

function timeUs(v: unknown): number | undefined {
  const s = field(v);
  if (s === undefined || !DIGITS.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * parseJournalEntry reads one line of `journalctl --output=json`. It returns an Error naming
 * what was wrong for a line that is not a journal entry (not JSON, no cursor, no time, no
 * message); it never throws.
 */
export function parseJournalEntry(text: string): JournalEntry | Error {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return new Error('not JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return new Error('not a JSON object');
  const e = o as Record<string, unknown>;
  const cursor = field(e.__CURSOR);
  if (!validCursor(cursor)) return new Error('no valid __CURSOR');
  const received = timeUs(e.__REALTIME_TIMESTAMP);
  if (received === undefined) return new Error('no valid __REALTIME_TIMESTAMP');
  const message = field(e.MESSAGE);
  if (message === undefined) return new Error('no MESSAGE');
  // The sender's own clock when it gave one (syslog and native entries do), else reception.
  const sent = timeUs(e._SOURCE_REALTIME_TIMESTAMP) ?? received;
  const ident = field(e.SYSLOG_IDENTIFIER) ?? field(e._COMM) ?? '';
  const program = PROGRAM.test(ident)
    ? ident
    : oneLine(ident)
        .replace(/[\s:[\]]/g, '_')
        .slice(0, 64) || '-';
  const pid = id32(e.SYSLOG_PID) ?? id32(e._PID) ?? 0;
  const host =
    oneLine(field(e._HOSTNAME) ?? '')
      .replace(/ /g, '_')
      .slice(0, 255) || '-';
  const msg = oneLine(message);
  const envelope: SyslogEnvelope = { timeMs: Math.floor(sent / 1000), host, program, pid, message: msg };
  const tag = pid ? `${program}[${pid}]` : program;
  return {
    cursor,
    realtimeUs: received,
    envelope,
    sender: sender(e),
    line: `${rfc3339Micro(sent)} ${host} ${tag}: ${msg}`,
  };
}
