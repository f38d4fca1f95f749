import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { T0, uniqueId } from './conformance-fixtures.js';
import { type OpenStorage, rejectsWith, withStorage } from './conformance-helpers.js';
import type { PlaybookRecord, PlaybookRunRecord } from './playbook-types.js';

/** playbookFixture builds an enabled playbook that isolates on one rule. */
export function playbookFixture(over: Partial<PlaybookRecord> = {}): PlaybookRecord {
  return {
    id: over.id ?? uniqueId('pb'),
    name: over.name ?? uniqueId('isolate-miners'),
    description: 'isolate hosts that run a miner',
    enabled: true,
    dryRun: false,
    match: { ruleIds: ['rule-1'], tags: ['attack.t1496'], minSeverity: 'high', groupIds: [], hosts: [] },
    actions: [{ type: 'isolate' }, { type: 'webhook', url: 'https://hooks.example/palisade' }],
    maxIsolationsPerHour: 5,
    maxRunsPerHour: 60,
    webhookSecretSealed: 'sealed',
    createdAt: T0,
    createdBy: 'alice',
    updatedAt: T0,
    ...over,
  };
}

/** runFixture builds a run of `playbookId` for `alertId`. */
export function runFixture(
  playbookId: string,
  alertId: string,
  over: Partial<PlaybookRunRecord> = {},
): PlaybookRunRecord {
  return {
    id: over.id ?? uniqueId('run'),
    playbookId,
    playbookName: 'isolate-miners',
    alertId,
    agentId: 'agent-1',
    ruleId: 'rule-1',
    at: T0,
    dryRun: false,
    isolated: true,
    acted: true,
    steps: [{ type: 'isolate', status: 'issued', detail: '', commandId: 'cmd-1', attempts: 0 }],
    ...over,
  };
}

/**
 * playbookConformance registers the tests of playbooks (stored whole, unique names, enable and
 * disable, delete) and their runs (once per alert, steps updated, listed newest first with paging,
 * counted for the rate limits).
 */
export function playbookConformance(open: OpenStorage): void {
  describe('playbooks', () => {
    it('are stored and read back whole; a taken name or id is refused', () =>
      withStorage(open, async (s) => {
        const p = playbookFixture();
        await s.createPlaybook(p);
        assert.deepEqual(await s.getPlaybook(p.id), p);
        assert.deepEqual(await s.getPlaybookByName(p.name), p);
        assert.equal(await s.getPlaybook('nope'), undefined);
        await rejectsWith(s.createPlaybook(playbookFixture({ name: p.name })), 'conflict', /already exists/);
        await rejectsWith(s.createPlaybook(playbookFixture({ id: p.id })), 'conflict', new RegExp(p.id));
        const q = playbookFixture({
          webhookSecretSealed: null,
          actions: [{ type: 'kill_process', tree: true }],
        });
        await s.createPlaybook(q);
        assert.deepEqual(await s.listPlaybooks(), [p, q]);
      }));

    it('are enabled, disabled, switched to dry run and deleted; unknown ids are not_found', () =>
      withStorage(open, async (s) => {
        const p = playbookFixture();
        await s.createPlaybook(p);
        const off = await s.updatePlaybook(p.id, { enabled: false, updatedAt: T0 + 1 });
        assert.deepEqual(off, { ...p, enabled: false, updatedAt: T0 + 1 });
        assert.deepEqual(await s.getPlaybook(p.id), off);
        assert.equal((await s.updatePlaybook(p.id, { dryRun: true })).dryRun, true);
        await rejectsWith(s.updatePlaybook('nope', { enabled: true }), 'not_found', /nope/);
        await s.deletePlaybook(p.id);
        assert.equal(await s.getPlaybook(p.id), undefined);
        await rejectsWith(s.deletePlaybook(p.id), 'not_found', new RegExp(p.id));
      }));
  });

  describe('playbook runs', () => {
    it('run once per playbook and alert; steps are updated; runs outlive their playbook', () =>
      withStorage(open, async (s) => {
        const p = playbookFixture();
        await s.createPlaybook(p);
        const r = runFixture(p.id, 'alert-1');
        await s.createPlaybookRun(r);
        assert.deepEqual(await s.getPlaybookRun(r.id), r);
        await rejectsWith(s.createPlaybookRun(runFixture(p.id, 'alert-1')), 'conflict', /alert-1/);
        await s.createPlaybookRun(runFixture('other-playbook', 'alert-1'));
        const steps = [
          ...r.steps,
          {
            type: 'webhook' as const,
            status: 'sent' as const,
            detail: 'HTTP 204',
            commandId: null,
            attempts: 2,
          },
        ];
        await s.updatePlaybookRunSteps(r.id, steps);
        assert.deepEqual((await s.getPlaybookRun(r.id))?.steps, steps);
        await rejectsWith(s.updatePlaybookRunSteps('nope', steps), 'not_found', /nope/);
        await s.deletePlaybook(p.id);
        assert.deepEqual((await s.getPlaybookRun(r.id))?.steps, steps);
      }));

    it('are listed newest first by playbook or alert, paged by cursor', () =>
      withStorage(open, async (s) => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const r = runFixture('pb-a', `alert-${i}`, { at: T0 + i });
          await s.createPlaybookRun(r);
          ids.push(r.id);
        }
        const other = runFixture('pb-b', 'alert-0');
        await s.createPlaybookRun(other);
        const p1 = await s.listPlaybookRuns({ playbookId: 'pb-a', limit: 3 });
        assert.deepEqual(
          p1.runs.map((r) => r.id),
          [ids[4], ids[3], ids[2]],
        );
        assert.ok(p1.nextCursor);
        const p2 = await s.listPlaybookRuns({ playbookId: 'pb-a', limit: 3, cursor: p1.nextCursor });
        assert.deepEqual(
          p2.runs.map((r) => r.id),
          [ids[1], ids[0]],
        );
        assert.equal(p2.nextCursor, undefined);
        const byAlert = await s.listPlaybookRuns({ alertId: 'alert-0', limit: 10 });
        assert.deepEqual(
          byAlert.runs.map((r) => r.id),
          [other.id, ids[0]],
        );
        assert.equal((await s.listPlaybookRuns({ limit: 100 })).runs.length, 6);
        await rejectsWith(s.listPlaybookRuns({ limit: 10, cursor: 'garbage' }), 'bad_request');
      }));

    it('are counted since a time, by playbook, isolation and whether they acted', () =>
      withStorage(open, async (s) => {
        await s.createPlaybookRun(runFixture('pb-a', 'a1', { at: T0 }));
        await s.createPlaybookRun(runFixture('pb-a', 'a2', { at: T0 + 10, isolated: false }));
        await s.createPlaybookRun(
          runFixture('pb-a', 'a3', { at: T0 + 20, isolated: false, acted: false, dryRun: true }),
        );
        await s.createPlaybookRun(runFixture('pb-b', 'a1', { at: T0 + 30 }));
        assert.equal(await s.countPlaybookRuns({ since: T0 }), 4);
        assert.equal(await s.countPlaybookRuns({ since: T0 + 1 }), 3);
        assert.equal(await s.countPlaybookRuns({ since: T0, isolated: true }), 2);
        assert.equal(await s.countPlaybookRuns({ since: T0, playbookId: 'pb-a', isolated: true }), 1);
        assert.equal(await s.countPlaybookRuns({ since: T0, playbookId: 'pb-a', acted: true }), 2);
        assert.equal(await s.countPlaybookRuns({ since: T0 + 31 }), 0);
      }));
  });
}
