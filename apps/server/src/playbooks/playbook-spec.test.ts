// Playbook validation, matching and evidence: bad input gets a clear error naming the field.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ErrorCode, PalisadeError } from '@palisade/common';
import type { PlaybookRecord, Storage } from '@palisade/storage';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { conformanceFixtures } from '@palisade/storage/testing';
import { removeTempDir, tempDir } from '@palisade/testkit';
import { evidenceFile, evidenceProcess } from './evidence.js';
import type { PlaybookAlert } from './playbook-alert.js';
import { matches } from './playbook-match.js';
import { checkSpec, type PlaybookSpec } from './playbook-spec.js';

let dir: string;
let storage: Storage;

before(async () => {
  dir = tempDir('palisade-playbook-spec-');
  storage = await openSqliteStorage({ path: `${dir}/p.db`, writerThread: false });
  await storage.migrate();
  await storage.createGroup(
    conformanceFixtures.groupFixture({ id: '9b1f5d1e-8c1a-4e55-9d8b-1f0d5f8a0c11', name: 'servers' }),
  );
});
after(async () => {
  await storage.close();
  removeTempDir(dir);
});

const urls = { allowLoopbackHttp: false };

async function refused(spec: unknown, msg: RegExp, code: ErrorCode = 'validation_failed'): Promise<void> {
  await assert.rejects(checkSpec(storage, spec as PlaybookSpec, urls), (err: unknown) => {
    assert.ok(err instanceof PalisadeError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, msg);
    return true;
  });
}

const base = { name: 'miners', match: { rule_ids: ['r1'] }, actions: [{ type: 'isolate' }] };

describe('playbook validation', () => {
  test('a good spec gets its defaults, lower-case tags, and groups resolved to ids', async () => {
    const c = await checkSpec(
      storage,
      {
        name: 'miners',
        match: { tags: ['ATTACK.T1496'], groups: ['servers'], hosts: ['Web-1'], min_severity: 'high' },
        actions: [
          { type: 'isolate' },
          { type: 'kill_process', tree: true },
          { type: 'webhook', url: 'https://hooks.example/x?t=1' },
        ],
      },
      urls,
    );
    assert.deepEqual(c, {
      name: 'miners',
      description: '',
      enabled: true,
      dryRun: false,
      match: {
        ruleIds: [],
        tags: ['attack.t1496'],
        minSeverity: 'high',
        groupIds: ['9b1f5d1e-8c1a-4e55-9d8b-1f0d5f8a0c11'],
        hosts: ['web-1'],
      },
      actions: [
        { type: 'isolate' },
        { type: 'kill_process', tree: true },
        { type: 'webhook', url: 'https://hooks.example/x?t=1' },
      ],
      maxIsolationsPerHour: 3,
      maxRunsPerHour: 60,
    });
  });

  test('an unknown action is refused, naming it and the actions there are', () =>
    refused(
      { ...base, actions: [{ type: 'isolate' }, { type: 'reboot' }] },
      /field actions\[1\]\.type: "reboot" is not an action \(isolate, kill_process, quarantine_file, webhook\)/,
    ));

  test('bad webhook URLs are refused with the reason', async () => {
    const hook = (url: unknown) => ({ ...base, actions: [{ type: 'webhook', url }] });
    await refused(hook('http://hooks.example/x'), /field actions\[0\]\.url: .* is plain http; use https/);
    await refused(hook('http://127.0.0.1:9/x'), /plain http; use https/);
    await refused(hook('ftp://hooks.example/x'), /"ftp" is not https/);
    await refused(hook('https://user:pw@hooks.example/x'), /must not hold a user name or password/);
    await refused(hook('not a url'), /is not a URL/);
    await refused(hook(undefined), /a webhook needs a url/);
    await refused(hook(`https://hooks.example/${'a'.repeat(2100)}`), /longer than 2048/);
  });

  test('http to loopback passes only when the server allows it (tests)', async () => {
    const c = await checkSpec(
      storage,
      { ...base, actions: [{ type: 'webhook', url: 'http://127.0.0.1:9/x' }] },
      { allowLoopbackHttp: true },
    );
    assert.equal(c.actions[0]?.type, 'webhook');
  });

  test('other bad input: names, fields, severities, groups, limits, missing rules', async () => {
    await refused({ ...base, name: 'no spaces' }, /field name: "no spaces" is not a playbook name/);
    await refused({ ...base, name: '9b1f5d1e-8c1a-4e55-9d8b-1f0d5f8a0c11' }, /not a UUID/);
    await refused({ ...base, colour: 'red' }, /unknown field "colour"/);
    await refused({ ...base, actions: [] }, /field actions: must list 1-10 actions/);
    await refused(
      { ...base, actions: [{ type: 'isolate' }, { type: 'isolate' }] },
      /"isolate" is listed more than once/,
    );
    await refused(
      { ...base, actions: [{ type: 'isolate', url: 'https://x.example' }] },
      /field actions\[0\]: unknown field "url"/,
    );
    await refused(
      { ...base, actions: [{ type: 'kill_process', tree: 'yes' }] },
      /field actions\[0\]\.tree: "yes" is not true or false/,
    );
    await refused(
      { ...base, match: { rule_ids: ['r1'], min_severity: 'severe' } },
      /field match.min_severity: "severe" is not a severity/,
    );
    await refused(
      { ...base, match: { rule_ids: ['r1'], groups: ['nowhere'] } },
      /field match.groups\[0\]: no group "nowhere"/,
    );
    await refused({ ...base, match: { rule_ids: 'r1' } }, /field match.rule_ids: must be a list/);
    await refused(
      { ...base, match: { tags: ['not a tag'] } },
      /field match.tags\[0\]: "not a tag" is not a tag/,
    );
    await refused(
      { ...base, max_isolations_per_hour: -1 },
      /field max_isolations_per_hour: -1 is not a whole number/,
    );
    await refused({ ...base, match: {} }, /must name the rule_ids or tags it answers/);
    await refused({ ...base, match: { min_severity: 'critical' } }, /must name the rule_ids or tags/);
  });

  test('a webhook-only playbook may match every alert', async () => {
    const c = await checkSpec(
      storage,
      { name: 'all-alerts', actions: [{ type: 'webhook', url: 'https://siem.example/in' }] },
      urls,
    );
    assert.deepEqual(c.match, {
      ruleIds: [],
      tags: [],
      minSeverity: 'informational',
      groupIds: [],
      hosts: [],
    });
  });
});

function playbook(over: Partial<PlaybookRecord['match']> = {}, enabled = true): PlaybookRecord {
  return {
    id: 'p1',
    name: 'p',
    description: '',
    enabled,
    dryRun: false,
    match: { ruleIds: [], tags: [], minSeverity: 'informational', groupIds: [], hosts: [], ...over },
    actions: [{ type: 'isolate' }],
    maxIsolationsPerHour: 1,
    maxRunsPerHour: 1,
    webhookSecretSealed: null,
    createdAt: 0,
    createdBy: 'x',
    updatedAt: 0,
  };
}

const alert: PlaybookAlert = {
  id: 'a1',
  agentId: 'AG-1',
  ruleId: 'Rule-1',
  ruleTitle: 'Miner',
  tags: ['attack.t1496', 'attack.impact'],
  severity: 'high',
  finding: {},
};
const host = { agentId: 'ag-1', hostname: 'Web-1', groupId: 'g1' };

describe('playbook matching', () => {
  test('empty criteria match every alert; a disabled playbook matches none', () => {
    assert.equal(matches(playbook(), alert, host), true);
    assert.equal(matches(playbook({}, false), alert, host), false);
  });

  test('by rule id (any of, case-insensitive) and tag (any of)', () => {
    assert.equal(matches(playbook({ ruleIds: ['other', 'rule-1'] }), alert, host), true);
    assert.equal(matches(playbook({ ruleIds: ['other'] }), alert, host), false);
    assert.equal(matches(playbook({ tags: ['attack.impact'] }), alert, host), true);
    assert.equal(matches(playbook({ tags: ['attack.t1059'] }), alert, host), false);
    assert.equal(matches(playbook({ ruleIds: ['rule-1'], tags: ['attack.t1059'] }), alert, host), false);
  });

  test('by minimum severity', () => {
    assert.equal(matches(playbook({ minSeverity: 'high' }), alert, host), true);
    assert.equal(matches(playbook({ minSeverity: 'critical' }), alert, host), false);
    assert.equal(matches(playbook({ minSeverity: 'medium' }), { ...alert, severity: 'low' }, host), false);
  });

  test('by agent group and by host name or agent id', () => {
    assert.equal(matches(playbook({ groupIds: ['g1'] }), alert, host), true);
    assert.equal(matches(playbook({ groupIds: ['g2'] }), alert, host), false);
    assert.equal(matches(playbook({ hosts: ['web-1'] }), alert, host), true);
    assert.equal(matches(playbook({ hosts: ['ag-1'] }), alert, host), true);
    assert.equal(matches(playbook({ hosts: ['db-1'] }), alert, host), false);
  });
});

describe('alert evidence', () => {
  const uid = 'a'.repeat(32);
  test('the process to kill needs a pid and a start time or uid', () => {
    assert.deepEqual(
      evidenceProcess({
        evidences: [
          { process: { pid: 7, name: 'x' } },
          { process: { pid: 42, created_time: 1000, uid, name: 'xmrig' } },
        ],
      }),
      { pid: 42, startTimeMs: 1000, uid, name: 'xmrig' },
    );
    assert.equal(evidenceProcess({ evidences: [{ process: { pid: 42 } }] }), undefined);
    assert.equal(evidenceProcess({ evidences: 'nope' }), undefined);
    assert.equal(evidenceProcess({}), undefined);
  });

  test('the file to quarantine: an evidence file, else the evidence process executable', () => {
    assert.equal(
      evidenceFile({
        evidences: [{ process: { file: { path: '/usr/bin/x' } } }, { file: { path: '/tmp/drop' } }],
      }),
      '/tmp/drop',
    );
    assert.equal(
      evidenceFile({ evidences: [{ process: { file: { path: '/tmp/x/miner' } } }] }),
      '/tmp/x/miner',
    );
    assert.equal(evidenceFile({ evidences: [{ process: { pid: 1 } }] }), undefined);
  });
});
