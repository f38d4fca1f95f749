import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz } from '@palisade/testkit';
import { parseJournalEntry } from './journal-entry.js';
import { parseAuthLine } from './parse-auth-line.js';
import { AUTH_LINES, JOURNAL_ENTRIES } from './auth-input.fuzz.test-util.js';

for (const target of [AUTH_LINES, JOURNAL_ENTRIES]) {
  test(`fuzz: ${target.name} never throw; refusals are ${target.refusal} (bounded budget)`, async () => {
    const r = await fuzz(target, 3000);
    assert.equal(r.accepted + r.refused, 3000);
    assert.ok(r.accepted > 0 && r.refused > 0, JSON.stringify(r));
  });
}

test('a program named after an Object.prototype member is just another program (fuzz finding, seed 530582383)', () => {
  for (const program of ['valueOf', 'constructor', '__proto__', 'toString', 'hasOwnProperty'])
    assert.equal(
      parseAuthLine(
        `Nov 26 12:25:24 vm ${program}[1]: Failed password for invalid user x from ::1 port 1 ssh2`,
        0,
      ),
      null,
    );
  const e = parseJournalEntry(
    '{"__CURSOR":"s=0123abcd;i=1f;b=cafe;m=99;t=5f0a;x=42","__REALTIME_TIMESTAMP":"0","SYSLOG_IDENTIFIER":"valueOf","MESSAGE":"Failed password for invalid user  from ::0:0:0:0:0 port  ssh2"}',
  );
  assert.ok(!(e instanceof Error));
  assert.equal(parseAuthLine(e.line, 0), null);
});
