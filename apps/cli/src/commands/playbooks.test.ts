import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { removeTempDir, tempDir } from '@palisade/testkit';
import { CliError } from '../client.js';
import { createBody } from './playbooks.js';

test('playbooks create: flags become the API body; the server checks the rest', () => {
  assert.deepEqual(
    createBody('contain', {
      rule: ['r1', 'r2'],
      tag: ['attack.t1496'],
      'min-severity': 'high',
      host: ['web-1'],
      isolate: true,
      'kill-process': true,
      tree: true,
      'quarantine-file': true,
      webhook: ['https://siem.example/in'],
      'dry-run': true,
      'max-isolations-per-hour': '2',
    }),
    {
      name: 'contain',
      match: { rule_ids: ['r1', 'r2'], tags: ['attack.t1496'], min_severity: 'high', hosts: ['web-1'] },
      actions: [
        { type: 'isolate' },
        { type: 'kill_process', tree: true },
        { type: 'quarantine_file' },
        { type: 'webhook', url: 'https://siem.example/in' },
      ],
      dry_run: true,
      max_isolations_per_hour: 2,
    },
  );
});

test('playbooks create: missing name or action, a stray --tree, a bad number are refused', () => {
  assert.throws(() => createBody(undefined, { isolate: true }), /needs a NAME/);
  assert.throws(() => createBody('x', { rule: ['r'] }), /needs an action: --isolate/);
  assert.throws(() => createBody('x', { isolate: true, tree: true }), /--tree goes with --kill-process/);
  assert.throws(() => createBody('x', { isolate: true, 'max-runs-per-hour': 'many' }), CliError);
});

test('playbooks create --file reads a JSON playbook; NAME replaces its name', (t) => {
  const dir = tempDir('palisade-cli-playbook-');
  t.after(() => removeTempDir(dir));
  const f = `${dir}/p.json`;
  writeFileSync(f, JSON.stringify({ name: 'a', actions: [{ type: 'webhook', url: 'https://s.example' }] }));
  assert.deepEqual(createBody('b', { file: f }), {
    name: 'b',
    actions: [{ type: 'webhook', url: 'https://s.example' }],
  });
  writeFileSync(f, '[1]');
  assert.throws(() => createBody(undefined, { file: f }), /must hold a JSON object/);
  writeFileSync(f, '{');
  assert.throws(() => createBody(undefined, { file: f }), new RegExp(`--file ${f}:`));
});
