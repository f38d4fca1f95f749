/**
 * SyslogEnvelope is the part of a syslog file line that every program shares: when, which host,
 * which program (and pid, when the program logs it), and the free-text message.
 */
export interface SyslogEnvelope {
  /** Milliseconds since the epoch. */
  timeMs: number;
  host: string;
  program: string;
  /** 0 when the line carries no pid (sudo and PAM lines from some programs do not). */
  pid: number;
  message: string;
}

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// "Nov 26 12:25:08 host rest" (RSYSLOG_TraditionalFileFormat; the day is space-padded).
const CLASSIC = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) (.*)$/;
// "2026-11-26T12:25:08.241989+00:00 host rest" (RSYSLOG_FileFormat, Debian 12's default).
const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) (\S+) (.*)$/;
// "sshd[8127]: msg" or "sudo: msg". Program names are short and have no spaces or colons.
const TAG = /^([^\s:[\]]{1,64})(?:\[(\d{1,10})\])?: ?(.*)$/;

/**
 * parseSyslogEnvelope splits a syslog file line into its envelope, or returns null when the line
 * is not in either format rsyslog writes. Classic timestamps carry no year or zone: they are read
 * as local time in the year that puts them closest to (and not more than a day after) `nowMs`.
 */
export function parseSyslogEnvelope(line: string, nowMs: number): SyslogEnvelope | null {
  let timeMs: number;
  let host: string;
  let rest: string;
  const r = RFC3339.exec(line);
  if (r) {
    timeMs = parseRfc3339(r[1]!);
    host = r[2]!;
    rest = r[3]!;
  } else {
    const c = CLASSIC.exec(line);
    if (!c) return null;
    const month = MONTHS[c[1]!];
    if (month === undefined) return null;
    timeMs = classicTime(month, Number(c[2]), Number(c[3]), Number(c[4]), Number(c[5]), nowMs);
    host = c[6]!;
    rest = c[7]!;
  }
  if (!Number.isFinite(timeMs)) return null;
  const t = TAG.exec(rest);
  if (!t) return null;
  return { timeMs, host, program: t[1]!, pid: t[2] ? Number(t[2]) : 0, message: t[3]! };
}

function parseRfc3339(s: string): number {
  // Date.parse handles microseconds, but trim to milliseconds so the result does not depend on it.
  return Date.parse(s.replace(/(\.\d{3})\d+/, '$1'));
}

function classicTime(month: number, day: number, h: number, m: number, s: number, nowMs: number): number {
  const year = new Date(nowMs).getFullYear();
  const t = new Date(year, month, day, h, m, s).getTime();
  // A December line read in January belongs to last year.
  return t - nowMs > 24 * 3600 * 1000 ? new Date(year - 1, month, day, h, m, s).getTime() : t;
}
