// palisade-journal (apps/agent/journal-reader), the C reader, on arguments it must refuse. Its
// reading is tested for real against systemd-journald in auth-journal-e2e.linux.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { BUILT_READER } from './journald-source.linux.js';

const readerRun = (...args: string[]) => spawnSync(BUILT_READER, args, { encoding: 'utf8', timeout: 5000 });

test('palisade-journal is built (npm run build; needs libsystemd-dev)', () => {
  assert.ok(existsSync(BUILT_READER), `${BUILT_READER} missing`);
});

test('palisade-journal refuses unknown flags, bad times and bad matches with a one-line reason', () => {
  for (const [args, code, re] of [
    [['--bogus'], 1, /^usage: palisade-journal /],
    [['--since=@soon'], 1, /^usage: /],
    [['--since=@-5'], 1, /^usage: /],
    [['--lines=7'], 1, /^usage: /],
    [['MESSAGE'], 1, /^usage: /],
    [['--output-fields='], 1, /^usage: /],
    [['--output-fields=MESSAGE,lower'], 1, /^usage: /],
    [['--output-fields=MESSAGE,,'], 1, /^usage: /],
    [['--output-fields=1ABC'], 1, /^usage: /],
    [[`--output-fields=${Array.from({ length: 33 }, () => 'A').join(',')}`], 1, /^usage: /],
    [['--directory=/nonexistent/journal'], 2, /^Failed to open the journal in \/nonexistent\/journal: /],
  ] as Array<[string[], number, RegExp]>) {
    const r = readerRun(...args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stdout, '');
  }
});
