import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJournalEntry, validCursor } from './journal-entry.js';
import { parseAuthMessage } from './parse-auth-line.js';

const CURSOR =
  's=4eeed1df425a4198bd56af1ca3ed6cc9;i=4;b=29f04dabb1de454aa987f33b877c4dca;m=a0a00f806;t=66136e3574a95;x=dff716fe1265da6';

// An entry as systemd 252's `journalctl --output=json --all` printed it for sshd on this machine.
const SSHD = {
  __CURSOR: CURSOR,
  __REALTIME_TIMESTAMP: '1795738230540949',
  __MONOTONIC_TIMESTAMP: '43117508614',
  _SOURCE_REALTIME_TIMESTAMP: '1795738230540798',
  _HOSTNAME: 'vm',
  _TRANSPORT: 'syslog',
  SYSLOG_FACILITY: '4',
  SYSLOG_IDENTIFIER: 'sshd',
  SYSLOG_PID: '21205',
  _PID: '21205',
  _COMM: 'sshd',
  PRIORITY: '6',
  MESSAGE: 'Accepted password for alice from 127.0.0.1 port 5555 ssh2',
};

test('a journal entry becomes the envelope and the line auth.log would hold', () => {
  const e = parseJournalEntry(JSON.stringify(SSHD));
  assert.ok(!(e instanceof Error), String(e));
  assert.equal(e.cursor, CURSOR);
  assert.equal(e.realtimeUs, 1795738230540949);
  assert.deepEqual(e.envelope, {
    timeMs: 1795738230540,
    host: 'vm',
    program: 'sshd',
    pid: 21205,
    message: 'Accepted password for alice from 127.0.0.1 port 5555 ssh2',
  });
  assert.equal(
    e.line,
    '2026-11-27T00:10:30.540798+00:00 vm sshd[21205]: Accepted password for alice from 127.0.0.1 port 5555 ssh2',
  );
  const r = parseAuthMessage(e.envelope);
  assert.equal(r?.success, true);
  assert.equal(r?.user, 'alice');
  assert.equal(r?.srcIp, '127.0.0.1');
});

test('fields journalctl prints as byte arrays, repeated fields and missing ones', () => {
  const bytes = [...Buffer.from('FAILED SU (to bob) alice on pts/3\nforged line')];
  const e = parseJournalEntry(
    JSON.stringify({
      __CURSOR: CURSOR,
      __REALTIME_TIMESTAMP: '1795738230000001',
      SYSLOG_IDENTIFIER: ['su', 'other'],
      _PID: '77',
      MESSAGE: bytes,
    }),
  );
  assert.ok(!(e instanceof Error), String(e));
  // No _SOURCE_REALTIME_TIMESTAMP: reception time. No host: "-". The newline cannot forge a line.
  assert.equal(e.envelope.timeMs, 1795738230000);
  assert.equal(e.envelope.program, 'su');
  assert.equal(e.envelope.pid, 77);
  assert.equal(
    e.line,
    '2026-11-27T00:10:30.000001+00:00 - su[77]: FAILED SU (to bob) alice on pts/3 forged line',
  );
  // No identifier at all: _COMM; a hostile identifier cannot break the tag.
  const c = parseJournalEntry(JSON.stringify({ ...SSHD, SYSLOG_IDENTIFIER: undefined, _COMM: 'login' }));
  assert.ok(!(c instanceof Error));
  assert.equal(c.envelope.program, 'login');
  const h = parseJournalEntry(JSON.stringify({ ...SSHD, SYSLOG_IDENTIFIER: 'sshd[1]: Accepted x' }));
  assert.ok(!(h instanceof Error));
  assert.equal(h.envelope.program, 'sshd_1___Accepted_x');
  assert.equal(parseAuthMessage(h.envelope), null);
  // A pid that is not a number is left out.
  const p = parseJournalEntry(JSON.stringify({ ...SSHD, SYSLOG_PID: '-3', _PID: 'x' }));
  assert.ok(!(p instanceof Error));
  assert.equal(p.envelope.pid, 0);
  assert.match(p.line, / vm sshd: Accepted/);
});

test('what is not a journal entry is an error naming what is wrong, never a throw', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /not JSON/],
    ['{"MESSAGE": "x"', /not JSON/],
    ['[1,2]', /not a JSON object/],
    ['null', /not a JSON object/],
    [JSON.stringify({ ...SSHD, __CURSOR: undefined }), /__CURSOR/],
    [JSON.stringify({ ...SSHD, __CURSOR: 's=1;i=2 --since=x' }), /__CURSOR/],
    [JSON.stringify({ ...SSHD, __REALTIME_TIMESTAMP: 'soon' }), /__REALTIME_TIMESTAMP/],
    [JSON.stringify({ ...SSHD, __REALTIME_TIMESTAMP: '99999999999999999999' }), /__REALTIME_TIMESTAMP/],
    [JSON.stringify({ ...SSHD, MESSAGE: null }), /MESSAGE/],
    [JSON.stringify({ ...SSHD, MESSAGE: [300, 1] }), /MESSAGE/],
    [JSON.stringify({ ...SSHD, MESSAGE: [[[104, 105]]] }), /MESSAGE/],
    // Nesting only a hostile line has: no recursion to exhaust the stack.
    [
      `{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1","MESSAGE":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
      /MESSAGE/,
    ],
  ];
  for (const [text, re] of cases) {
    const e = parseJournalEntry(text);
    assert.ok(e instanceof Error, text);
    assert.match(e.message, re, text);
  }
  // Fuzz: random JSON-ish bytes never throw.
  for (let i = 0; i < 2000; i++) {
    const junk = JSON.stringify({ ...SSHD, MESSAGE: Math.random() < 0.5 ? [i % 256] : { i } }).slice(
      0,
      i % 300,
    );
    assert.doesNotThrow(() => parseJournalEntry(junk));
  }
});

test('validCursor accepts journal cursors only', () => {
  assert.ok(validCursor(CURSOR));
  assert.ok(validCursor('x=1;y=2'));
  for (const bad of ['', 's=', 'abc', '--lines=all', `${CURSOR};`, 's=1\n', 7, null, `s=${'a'.repeat(600)}`])
    assert.equal(validCursor(bad), false, String(bad));
});

test("who sent it comes from journald's own fields, never from what the sender wrote", () => {
  const e = parseJournalEntry(
    JSON.stringify({
      ...SSHD,
      SYSLOG_PID: '4242',
      _PID: '5151',
      _UID: '1000',
      _COMM: 'logger',
      _EXE: '/usr/bin/logger',
      _CAP_EFFECTIVE: '1fffeffffff',
    }),
  );
  assert.ok(!(e instanceof Error), String(e));
  assert.deepEqual(e.sender, {
    pid: 5151,
    uid: 1000,
    comm: 'logger',
    exe: '/usr/bin/logger',
    capEffective: 0x1fffeffffffn,
  });
  // The line keeps the tag as auth.log would show it.
  assert.equal(e.envelope.pid, 4242);
  // Invalid values are left out rather than guessed at.
  const bad = parseJournalEntry(
    JSON.stringify({
      ...SSHD,
      _PID: '-1',
      _UID: '4294967296',
      _COMM: '',
      _EXE: 'usr/bin/sshd',
      _CAP_EFFECTIVE: 'zz',
    }),
  );
  assert.ok(!(bad instanceof Error));
  assert.deepEqual(bad.sender, {});
  const ctl = parseJournalEntry(JSON.stringify({ ...SSHD, _EXE: '/usr/sbin/sshd\n', _COMM: 'a\u001bb' }));
  assert.ok(!(ctl instanceof Error));
  assert.deepEqual(ctl.sender, { pid: 21205, comm: 'a b' });
});
