import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable } from './table.js';
import { escapeControl, safe } from './terminal-text.js';

// What an attacker can put in argv, a path or a DNS name: clear the screen, move the cursor up
// and overwrite a row, start new rows, colour, reverse the text, a C1 CSI.
const HOSTILE = [
  '/bin/sh -c \x1b[2J\x1b[H',
  'innocent\x1b[1A\rroot   ok',
  'line1\nFORGED-ROW  x  y',
  'a\r\nb',
  '\x1b[31mred\x1b[0m',
  'evil\u202egnp.exe',
  '\x9b31m',
  'tab\there',
];

test('table cells cannot move the cursor, colour the screen or forge rows', () => {
  const out = formatTable(
    ['PID', 'CMD'],
    HOSTILE.map((h, i) => [i, h]),
  );
  const lines = out.split('\n');
  assert.equal(lines.length, 2 + HOSTILE.length, 'one line per row, plus header and rule');
  // No control character is left: not ESC, CR, LF (inside a line), TAB, C1, DEL, or bidi overrides.
  for (const l of lines) assert.doesNotMatch(l, /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u, JSON.stringify(l));
  assert.ok(lines[2]?.includes('/bin/sh -c \\x1b[2J\\x1b[H'), lines[2]);
  assert.ok(lines[4]?.includes('line1\\nFORGED-ROW  x  y'));
  assert.ok(lines[7]?.includes('evil\\u202egnp.exe'));
  assert.ok(lines[8]?.includes('\\x9b31m'));
});

test('escapeControl leaves ordinary text alone; safe escapes only the interpolated values', () => {
  assert.equal(
    escapeControl('/usr/bin/python3 -c "print(1)" — ünïcode ✓'),
    '/usr/bin/python3 -c "print(1)" — ünïcode ✓',
  );
  assert.equal(escapeControl('\x00\x7f'), '\\x00\\x7f');
  assert.equal(
    safe`moved agent ${'a\nb'} to group ${'\x1b[2Jx'}\n`,
    'moved agent a\\nb to group \\x1b[2Jx\n',
  );
});
