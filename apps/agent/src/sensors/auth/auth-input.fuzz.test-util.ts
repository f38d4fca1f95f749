import { AuthProvenance, EventSchema, toBinary } from '@palisade/protocol';
import { type FuzzTarget, fc } from '@palisade/testkit';
import { toAuthEvent } from './auth-event.js';
import { parseJournalEntry } from './journal-entry.js';
import { parseAuthLine } from './parse-auth-line.js';

const TEMPLATES = [
  'Failed password for invalid user {u} from {ip} port {n} ssh2',
  'Accepted publickey for {u} from {ip} port {n} ssh2: RSA SHA256:{s}',
  'Accepted password for {u} from {ip} port {n} ssh2',
  'pam_unix(sudo:session): session opened for user root(uid=0) by {u}(uid={n})',
  '{u} : TTY=pts/0 ; PWD=/home/{u} ; USER=root ; COMMAND=/bin/{s}',
  'message repeated {n} times: [ Failed password for {u} from {ip} port {n} ssh2]',
  'Invalid user {u} from {ip} port {n}',
  'pam_unix(su:auth): authentication failure; logname={u} uid={n} euid=0 tty=pts/1 ruser={u} rhost=  user=root',
  'Disconnected from authenticating user {u} {ip} port {n} [preauth]',
];
// Names of Object.prototype members too: a parser table looked up by program name once called them.
const PROGRAMS = [
  'sshd',
  'sudo',
  'su',
  'login',
  'systemd-logind',
  'cron',
  'x',
  'valueOf',
  '__proto__',
  'constructor',
  'toString',
];
const PREFIXES = ['2026-11-26T12:25:24.988+00:00 vm ', 'Nov 26 12:25:24 vm ', '<38>Nov 26 12:25:24 vm ', ''];

/** Text that may hold anything: control bytes, long runs, multi-byte characters. */
const wild = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', ']', '[', ':', '%s', '\u0000', 'A'.repeat(300)),
);

const authLine = fc
  .tuple(
    fc.constantFrom(...PREFIXES),
    fc.constantFrom(...PROGRAMS),
    fc.oneof(fc.nat().map(String), fc.constant('99999999999999999999'), wild),
    fc.constantFrom(...TEMPLATES),
    wild,
    fc.oneof(fc.ipV4(), fc.ipV6(), wild),
    fc.oneof(fc.nat().map(String), wild),
  )
  .map(
    ([pre, prog, pid, tpl, u, ip, n]) =>
      `${pre}${prog}[${pid}]: ${tpl.replaceAll('{u}', u).replaceAll('{ip}', ip).replaceAll('{n}', n).replaceAll('{s}', u)}`,
  );

/**
 * AUTH_LINES feeds syslog auth lines (real shapes with wild fields, and random text) to the
 * parser and renders what it accepts as an event: parseAuthLine returns a record or null, never
 * throws, and an accepted record always encodes.
 */
export const AUTH_LINES: FuzzTarget<string> = {
  name: 'auth log lines',
  refusal: 'null (line ignored)',
  input: fc.oneof(authLine, fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
  check(line) {
    const p = parseAuthLine(line, 1_764_000_000_000);
    if (!p) return 'refused';
    const e = toAuthEvent(p.record, {
      timeMs: p.envelope.timeMs,
      pid: p.envelope.pid,
      program: p.envelope.program,
      raw: line,
      provenance: AuthProvenance.UNVERIFIED,
    });
    toBinary(EventSchema, e);
    return 'accepted';
  },
};

const jsonValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.nat().map(String),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.nat(255), { maxLength: 6 }),
  fc.constant({}),
  fc.boolean(),
);
const cursor = fc.oneof(fc.constant('s=0123abcd;i=1f;b=cafe;m=99;t=5f0a;x=42'), fc.string({ maxLength: 60 }));
const entry = fc
  .record(
    {
      __CURSOR: fc.oneof(cursor, jsonValue),
      __REALTIME_TIMESTAMP: fc.oneof(fc.nat().map(String), jsonValue),
      _SOURCE_REALTIME_TIMESTAMP: jsonValue,
      SYSLOG_IDENTIFIER: fc.oneof(fc.constantFrom(...PROGRAMS), jsonValue),
      SYSLOG_PID: fc.oneof(fc.nat().map(String), jsonValue),
      _PID: fc.oneof(fc.nat().map(String), jsonValue),
      _UID: fc.oneof(fc.constant('0'), jsonValue),
      _COMM: jsonValue,
      _EXE: fc.oneof(fc.constant('/usr/sbin/sshd'), jsonValue),
      _CAP_EFFECTIVE: fc.oneof(fc.constant('1ffffffffff'), jsonValue),
      _HOSTNAME: jsonValue,
      MESSAGE: fc.oneof(
        authLine.map((l) => l.slice(l.indexOf(': ') + 2)),
        jsonValue,
      ),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

/**
 * JOURNAL_ENTRIES feeds `journalctl --output=json` lines (entries with wrong types, missing
 * fields, byte-array messages, and random text) to parseJournalEntry: an entry or an Error
 * naming the problem, never a throw; an accepted entry's line parses like an auth.log line.
 */
export const JOURNAL_ENTRIES: FuzzTarget<string> = {
  name: 'journal entries',
  refusal: 'Error returned (entry skipped)',
  input: fc.oneof(entry, fc.string({ maxLength: 200 }), fc.json({ maxDepth: 2 })),
  check(text) {
    const e = parseJournalEntry(text);
    if (e instanceof Error) {
      if (!e.message) throw new Error('an Error without a message');
      return 'refused';
    }
    if (typeof e.line !== 'string' || typeof e.cursor !== 'string')
      throw new Error('entry without line or cursor');
    parseAuthLine(e.line, 1_764_000_000_000);
    return 'accepted';
  },
};
