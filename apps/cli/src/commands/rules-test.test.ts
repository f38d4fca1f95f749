// End to end: the built `palisade` binary evaluates rules offline.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/palisade.js');
const PACK = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../packages/detection/rules');
const dir = mkdtempSync(join(tmpdir(), 'palisade-rules-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

const ocsfExec = (cmd: string, path: string, time: number) =>
  JSON.stringify({
    class_uid: 1007,
    activity_id: 1,
    time,
    device: { uid: 'agent-1', hostname: 'h1' },
    process: {
      pid: 10,
      name: path.split('/').pop(),
      path,
      cmd_line: cmd,
      user: { uid: '1000', name: 'bob' },
    },
    unmapped: { 'process.argv': cmd.split(' ') },
  });
const su = (outcome: string, t: string) =>
  JSON.stringify({
    logsource: { product: 'linux', service: 'su' },
    event: { Service: 'su', Outcome: outcome, User: 'root', AgentId: 'agent-1', UtcTime: t },
  });

test('rules test prints, per event in order, the sorted ids of matching rules (OCSF and Sigma-field events, correlations)', () => {
  const events = join(dir, 'events.jsonl');
  writeFileSync(
    events,
    [
      ocsfExec('/dev/shm/x', '/dev/shm/x', 1767261600000),
      JSON.stringify({
        logsource: { category: 'process_creation', product: 'linux' },
        event: { Image: '/bin/sh', CommandLine: 'sh -c echo aWQK | base64 -d | sh' },
      }),
      ocsfExec('ls -la', '/usr/bin/ls', 1767261601000),
      '',
      su('failure', '2026-01-01 10:00:00'),
      su('failure', '2026-01-01 10:00:01'),
      su('failure', '2026-01-01 10:00:02'),
      su('failure', '2026-01-01 10:00:03'),
      su('failure', '2026-01-01 10:00:04'),
    ].join('\n'),
  );
  const r = run(['rules', 'test', PACK, '--events', events, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.i),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  assert.deepEqual(lines[0].matches, ['7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e13']);
  assert.deepEqual(lines[1].matches, ['7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e15']);
  assert.deepEqual(lines[2].matches, []);
  assert.deepEqual(lines[7].matches, ['7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e18']);
  assert.match(r.stderr, /23 rules loaded/);
  // The table form says the same for people.
  const t = run(['rules', 'test', PACK, '--events', events]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /^0\tline 1\t7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e13\tProgram Run from \/dev\/shm$/m);
  assert.match(t.stdout, /8 events, 3 with matches/);
});

test('rules test takes the JSON array events search --json prints', () => {
  const events = join(dir, 'array.json');
  writeFileSync(
    events,
    JSON.stringify(
      [
        JSON.parse(ocsfExec('/dev/shm/z', '/dev/shm/z', 1)),
        JSON.parse(ocsfExec('ls', '/usr/bin/ls', 2)),
        { class_uid: 'x' },
      ],
      null,
      2,
    ),
  );
  const r = run(['rules', 'test', PACK, '--events', events, '--json']);
  assert.equal(r.status, 1);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], { i: 0, matches: ['7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e13'] });
  assert.deepEqual(lines[1], { i: 1, matches: [] });
  assert.match(lines[2].error, /^element 2: OCSF event: class_uid must be a number/);
});

test('rules test names bad lines by number, evaluates the rest, and exits 1', () => {
  const events = join(dir, 'bad.jsonl');
  writeFileSync(
    events,
    [
      '{not json',
      JSON.stringify({ logsource: 'x', event: {} }),
      ocsfExec('/dev/shm/y', '/dev/shm/y', 1),
      '{"class_uid": 1007, "process": {"pid": "ten"}}',
    ].join('\n'),
  );
  const r = run(['rules', 'test', PACK, '--events', events, '--json']);
  assert.equal(r.status, 1);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.match(lines[0].error, /^line 1: not JSON/);
  assert.match(lines[1].error, /^line 2: 'logsource' must be an object/);
  assert.deepEqual(lines[2], { i: 2, matches: ['7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e13'] });
  assert.match(lines[3].error, /^line 4: OCSF event: process\.pid must be a number/);
  assert.match(r.stderr, /line 1: not JSON/);
});

test('rules test reports rule errors with file, line and field, and refuses missing input', () => {
  const rules = join(dir, 'rules');
  spawnSync('mkdir', ['-p', rules]);
  writeFileSync(
    join(rules, 'bad.yml'),
    'title: bad\nid: 00000000-0000-4000-8000-00000000abcd\nlogsource: {category: process_creation, product: linux}\ndetection:\n  sel:\n    Image|endswith|nope: x\n  condition: sel\n',
  );
  writeFileSync(
    join(rules, 'good.yml'),
    'title: good\nlogsource: {category: process_creation, product: linux}\ndetection:\n  sel:\n    Image|endswith: /x\n  condition: sel\n',
  );
  const events = join(dir, 'one.jsonl');
  writeFileSync(
    events,
    `${JSON.stringify({ logsource: { category: 'process_creation', product: 'linux' }, event: { Image: '/tmp/x' } })}\n`,
  );
  const r = run(['rules', 'test', rules, '--events', events, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /error: .*bad\.yml:6 \(detection\.sel\.Image\|endswith\|nope\): unknown modifier 'nope'/,
  );
  assert.equal(JSON.parse(r.stdout).matches.length, 1);
  assert.equal(run(['rules', 'test', rules]).status, 2);
  assert.equal(run(['rules', 'test', '--events', events]).status, 2);
  const missing = run(['rules', 'test', rules, '--events', join(dir, 'none.jsonl')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /none\.jsonl: ENOENT/);
});
