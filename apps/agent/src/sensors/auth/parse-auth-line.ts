import type { AuthRecord } from './auth-record.js';
import { parseLogin } from './parsers/login.js';
import { parsePam } from './parsers/pam.js';
import { parseSshd } from './parsers/sshd.js';
import { parseSu } from './parsers/su.js';
import { parseSudo } from './parsers/sudo.js';
import { parseSyslogEnvelope, type SyslogEnvelope } from './syslog-envelope.js';

/** ParsedAuthLine is a recognised authentication log line: its envelope and what it says. */
export interface ParsedAuthLine {
  envelope: SyslogEnvelope;
  record: AuthRecord;
}

const REPEATED = /^message repeated (\d+) times: \[ ?(.*)\]$/;

type MessageParser = (msg: string) => AuthRecord | null;

/**
 * PROGRAM_PARSERS maps a syslog program name to its parser. OpenSSH 9.8+ logs as sshd-session;
 * sshd-auth is its pre-authentication helper.
 */
const PROGRAM_PARSERS: Record<string, MessageParser> = {
  sshd: parseSshd,
  'sshd-session': parseSshd,
  'sshd-auth': parseSshd,
  su: parseSu,
  sudo: parseSudo,
  login: parseLogin,
};

/**
 * parseAuthLine turns one auth log line into a record, or null for lines that carry no
 * authentication outcome (session bookkeeping, daemon start-up, other programs, garbage).
 * It never throws.
 */
export function parseAuthLine(line: string, nowMs: number): ParsedAuthLine | null {
  const envelope = parseSyslogEnvelope(line, nowMs);
  if (!envelope) return null;
  const record = parseAuthMessage(envelope);
  return record ? { envelope, record } : null;
}

/**
 * parseAuthMessage reads what a program logged (its name and message, from a log line or a
 * journal entry) and returns the authentication outcome it reports, or null. It never throws.
 */
export function parseAuthMessage(envelope: Pick<SyslogEnvelope, 'program' | 'message'>): AuthRecord | null {
  // rsyslog's repeated-message reduction folds identical lines into one; keep the count.
  const rep = REPEATED.exec(envelope.message);
  const msg = rep ? rep[2]! : envelope.message;
  let record: AuthRecord | null = null;
  if (msg.startsWith('pam_')) {
    record = parsePam(msg);
  } else {
    // Own keys only: a program named "valueOf" or "constructor" must not reach Object.prototype
    // (found by the journal-entries fuzz target, docs/fuzzing.md).
    const parser = Object.hasOwn(PROGRAM_PARSERS, envelope.program)
      ? PROGRAM_PARSERS[envelope.program]
      : undefined;
    record = parser ? parser(msg) : null;
  }
  if (record && rep) {
    record = {
      ...record,
      detail: `${record.detail ? `${record.detail}; ` : ''}message repeated ${rep[1]} times`,
    };
  }
  return record;
}
