import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupFixture, keyFixture, T0 } from './conformance-fixtures.js';
import { type OpenStorage, rejectsWith, seedFleet, withStorage } from './conformance-helpers.js';
import type { NewAuditRecord } from './types.js';

function entry(over: Partial<NewAuditRecord> = {}): NewAuditRecord {
  return {
    at: T0,
    actorId: 'tok-1',
    actorName: 'alice',
    action: 'group.create',
    targetType: 'group',
    targetId: 'grp-1',
    remoteAddress: '192.0.2.7',
    outcome: 'ok',
    details: { name: 'servers' },
    ...over,
  };
}

/**
 * adminConformance registers the tests of fleet administration: deleting a group while moving its
 * agents (all or nothing), and the audit log (append, filters, newest first, cursor paging).
 */
export function adminConformance(open: OpenStorage): void {
  describe('group deletion with a move of its agents', () => {
    it('moves every agent and deletes the group with its keys in one step', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 3);
        const target = groupFixture({ name: 'target' });
        await s.createGroup(target);
        await s.deleteGroup(fleet.group.id, target.id);
        assert.equal(await s.getGroup(fleet.group.id), undefined);
        assert.equal(await s.getKey(fleet.key.id), undefined);
        for (const a of fleet.agents) assert.equal((await s.getAgent(a.id))?.groupId, target.id);
      }));

    it('an unknown target or the group itself changes nothing', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 2);
        await rejectsWith(s.deleteGroup(fleet.group.id, 'no-such-group'), 'not_found', /no-such-group/);
        await rejectsWith(s.deleteGroup(fleet.group.id, fleet.group.id), 'validation_failed', /itself/);
        await rejectsWith(s.deleteGroup('no-such-group', fleet.group.id), 'not_found');
        assert.deepEqual(await s.getGroup(fleet.group.id), fleet.group);
        for (const a of fleet.agents) assert.equal((await s.getAgent(a.id))?.groupId, fleet.group.id);
      }));

    it('an empty group can be deleted with a move too', () =>
      withStorage(open, async (s) => {
        const a = groupFixture();
        const b = groupFixture();
        await s.createGroup(a);
        await s.createGroup(b);
        await s.createKey(keyFixture(a.id));
        await s.deleteGroup(a.id, b.id);
        assert.deepEqual(await s.listGroups(), [b]);
      }));
  });

  describe('audit log', () => {
    it('appends entries with increasing ids and returns them newest first, every field intact', () =>
      withStorage(open, async (s) => {
        const first = entry();
        const second = entry({
          at: T0 + 1,
          action: 'agent.move',
          targetType: 'agent',
          targetId: null,
          actorId: null,
          details: {},
        });
        const id1 = await s.appendAudit(first);
        const id2 = await s.appendAudit(second);
        assert.ok(BigInt(id2) > BigInt(id1));
        const page = await s.searchAudit({ limit: 10 });
        assert.deepEqual(page.entries, [
          { ...second, id: id2 },
          { ...first, id: id1 },
        ]);
        assert.equal(page.nextCursor, undefined);
      }));

    it('filters by actor (id or name), action (exact or dotted prefix), target, outcome and time', () =>
      withStorage(open, async (s) => {
        await s.appendAudit(entry({ at: T0, action: 'group.create', targetId: 'g1' }));
        await s.appendAudit(entry({ at: T0 + 10, action: 'group.delete', targetId: 'g1' }));
        await s.appendAudit(
          entry({ at: T0 + 20, action: 'groups.weird', actorId: 'tok-2', actorName: 'bob' }),
        );
        await s.appendAudit(
          entry({ at: T0 + 30, action: 'api.denied', outcome: 'denied', actorName: 'bob', actorId: 'tok-2' }),
        );
        const actions = async (q: Parameters<typeof s.searchAudit>[0]) =>
          (await s.searchAudit(q)).entries.map((e) => e.action);
        assert.deepEqual(await actions({ limit: 10, action: 'group' }), ['group.delete', 'group.create']);
        assert.deepEqual(await actions({ limit: 10, action: 'group.create' }), ['group.create']);
        assert.deepEqual(await actions({ limit: 10, actor: 'bob' }), ['api.denied', 'groups.weird']);
        assert.deepEqual(await actions({ limit: 10, actor: 'tok-1' }), ['group.delete', 'group.create']);
        assert.deepEqual(await actions({ limit: 10, targetId: 'g1' }), ['group.delete', 'group.create']);
        assert.deepEqual(await actions({ limit: 10, outcome: 'denied' }), ['api.denied']);
        assert.deepEqual(await actions({ limit: 10, fromMs: T0 + 10, toMs: T0 + 30 }), [
          'groups.weird',
          'group.delete',
        ]);
      }));

    it('pages through every entry exactly once with the cursor; a foreign cursor is bad_request', () =>
      withStorage(open, async (s) => {
        for (let i = 0; i < 7; i++) await s.appendAudit(entry({ at: T0 + i, details: { i } }));
        const seen: unknown[] = [];
        let cursor: string | undefined;
        for (let p = 0; p < 10; p++) {
          const page = await s.searchAudit({ limit: 3, ...(cursor ? { cursor } : {}) });
          seen.push(...page.entries.map((e) => e.details.i));
          cursor = page.nextCursor;
          if (!cursor) break;
        }
        assert.deepEqual(seen, [6, 5, 4, 3, 2, 1, 0]);
        await rejectsWith(s.searchAudit({ limit: 3, cursor: 'not a cursor' }), 'bad_request');
        await rejectsWith(s.searchAudit({ limit: 0 }), 'bad_request');
      }));
  });
}
