import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '@palisade/common';
import { create, EventSchema } from '@palisade/protocol';
import { DetectionEngine } from './engine.js';
import { compileRuleSet } from './rule-set.js';

const exec = (path: string, cmd: string, t = 1767261600000) =>
  create(EventSchema, {
    classUid: 1007,
    activityId: 1,
    timeMs: BigInt(t),
    process: { pid: 9, path, cmdLine: cmd, argv: cmd.split(' '), user: { uid: '1000', name: 'bob' } },
  });

const rule = (id: string, body: string) => ({
  path: `${id}.yml`,
  text: `title: r ${id}\nid: ${id}\nlogsource: {category: process_creation, product: linux}\n${body}`,
});

test('a huge rule, a YAML bomb and an oversized file are errors for themselves only', () => {
  const many = Array.from({ length: 6000 }, (_, i) => `  s${i}:\n    Image: /x${i}\n`).join('');
  const bomb = `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
  const set = compileRuleSet([
    rule('00000000-0000-4000-8000-00000000f001', `detection:\n${many}  condition: 1 of them\n`),
    { path: 'bomb.yml', text: bomb },
    { path: 'big.yml', text: `# ${'x'.repeat(2 << 20)}` },
    rule(
      '00000000-0000-4000-8000-00000000f002',
      'detection:\n  s:\n    Image|endswith: /ok\n  condition: s\n',
    ),
  ]);
  const by = (f: string) => set.statuses.find((s) => s.file === f)!;
  assert.match(by('00000000-0000-4000-8000-00000000f001.yml').reason!, /more than 5000 detection items/);
  assert.match(by('bomb.yml').reason!, /more than 100 YAML aliases/);
  assert.match(by('big.yml').reason!, /more than the limit/);
  assert.equal(by('00000000-0000-4000-8000-00000000f002.yml').state, 'loaded');
  assert.equal(new DetectionEngine(set).evaluate(exec('/bin/ok', 'ok')).length, 1);
});

test('a rule that matches nearly every event is suspended at run time; the others keep matching', () => {
  const set = compileRuleSet([
    rule(
      '00000000-0000-4000-8000-00000000f003',
      'detection:\n  s:\n    CommandLine|contains: " "\n  condition: s\n',
    ),
    rule(
      '00000000-0000-4000-8000-00000000f004',
      'detection:\n  s:\n    Image|endswith: /nc\n  condition: s\n',
    ),
  ]);
  const engine = new DetectionEngine(set, { runaway: { window: 100, share: 0.5 } });
  for (let i = 0; i < 100; i++) engine.evaluate(exec('/bin/ls', `ls -l ${i}`));
  assert.deepEqual(engine.stats().suspended, ['00000000-0000-4000-8000-00000000f003']);
  assert.match(engine.statuses().find((s) => s.id.endsWith('f003'))!.reason!, /suspended/);
  const m = engine.evaluate(exec('/usr/bin/nc', 'nc -l 1'));
  assert.deepEqual(
    m.map((x) => x.rule.id),
    ['00000000-0000-4000-8000-00000000f004'],
  );
});

const corr = `title: two
id: 00000000-0000-4000-8000-00000000f010
correlation:
  type: event_count
  rules: [nc]
  group-by: [User]
  timespan: 1m
  condition: {gte: 2}
---
title: nc
id: 00000000-0000-4000-8000-00000000f011
name: nc
logsource: {category: process_creation, product: linux}
detection: {s: {Image|endswith: /nc}, condition: s}
`;

test('reload keeps the state of unchanged correlations; expire closes windows by the clock', () => {
  const clock = new ManualClock(1767261600000);
  const set = compileRuleSet([{ path: 'c.yml', text: corr }]);
  const engine = new DetectionEngine(set, { clock });
  assert.equal(engine.evaluate(exec('/usr/bin/nc', 'nc', 1767261600000)).length, 0);
  engine.reload(compileRuleSet([{ path: 'c.yml', text: corr }]));
  const m = engine.evaluate(exec('/usr/bin/nc', 'nc', 1767261610000));
  assert.equal(m.length, 1);
  assert.equal(m[0]!.kind, 'correlation');
  assert.equal(m[0]!.kind === 'correlation' && m[0]!.contributors.length, 2);
  // A changed correlation starts over.
  engine.evaluate(exec('/usr/bin/nc', 'nc', 1767261620000));
  engine.reload(compileRuleSet([{ path: 'c.yml', text: corr.replace('timespan: 1m', 'timespan: 2m') }]));
  assert.equal(engine.evaluate(exec('/usr/bin/nc', 'nc', 1767261625000)).length, 0);
});

test('correlation state is bounded: the oldest groups go, and are counted', () => {
  const set = compileRuleSet([{ path: 'c.yml', text: corr }]);
  const engine = new DetectionEngine(set, { correlation: { maxGroups: 10 } });
  for (let i = 0; i < 50; i++) {
    const e = exec('/usr/bin/nc', 'nc');
    e.process!.user!.name = `u${i}`;
    engine.evaluate(e);
  }
  assert.equal(engine.stats().droppedGroups, 40);
});

test('a window-close condition fires from expire with the clock once the window has passed', () => {
  const text = corr.replace('condition: {gte: 2}', 'condition: {lt: 3}');
  const clock = new ManualClock(1767261600000);
  const engine = new DetectionEngine(compileRuleSet([{ path: 'c.yml', text }]), { clock });
  engine.evaluate(exec('/usr/bin/nc', 'nc', 1767261600000));
  assert.equal(engine.expire().length, 0, 'the window is still open');
  clock.advance(61_000);
  const m = engine.expire();
  assert.equal(m.length, 1);
  assert.equal(m[0]!.kind === 'correlation' && m[0]!.value, 1);
});
