import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { T0, uniqueId } from './conformance-fixtures.js';
import { type OpenStorage, rejectsWith, seedFleet, withStorage } from './conformance-helpers.js';
import type { ActualIsolation, CommandRecord, RestoreCodeRecord } from './response-types.js';

/** commandFixture builds a pending command for `agentId`. */
export function commandFixture(agentId: string, over: Partial<CommandRecord> = {}): CommandRecord {
  return {
    id: over.id ?? uniqueId('cmd'),
    agentId,
    type: 'kill_process',
    params: { pid: 4242, start_time_ms: T0 },
    reason: 'suspicious miner',
    actorId: 'tok-1',
    actorName: 'alice',
    state: 'pending',
    createdAt: T0,
    expiresAt: T0 + 14 * 86_400_000,
    deliveredAt: null,
    finishedAt: null,
    error: null,
    result: null,
    isolationRevision: null,
    ...over,
  };
}

function actual(over: Partial<ActualIsolation> = {}): ActualIsolation {
  return {
    state: 'isolated',
    revision: 1,
    reason: '',
    since: T0 + 5,
    reportedAt: T0 + 6,
    allowedAddresses: ['192.0.2.1 7443'],
    localRestore: null,
    restoreCodeId: 'rc-1',
    restoreCodeFailures: 0,
    ...over,
  };
}

function code(agentId: string, over: Partial<RestoreCodeRecord> = {}): RestoreCodeRecord {
  return {
    agentId,
    codeId: 'rc-1',
    verifier: { salt: 'c2FsdA==', log2N: 14, r: 8, p: 1, hash: 'aGFzaA==' },
    sealed: 'sealed-bytes',
    createdAt: T0,
    revealedAt: null,
    revealedBy: null,
    usedAt: null,
    ...over,
  };
}

/**
 * responseConformance registers the tests of response commands (create, compare-and-set state
 * changes, expiry, listing and paging), isolation state (desired revisions set atomically with
 * their command, actual reports) and offline restore codes (revealed once).
 */
export function responseConformance(open: OpenStorage): void {
  describe('commands', () => {
    it('are stored and read back whole; unknown agent and duplicate id are refused', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 1);
        const c = commandFixture(agents[0]!.id, { result: { nested: { ok: true } } });
        assert.deepEqual(await s.createCommand(c), c);
        assert.deepEqual(await s.getCommand(c.id), c);
        assert.equal(await s.getCommand('nope'), undefined);
        await rejectsWith(s.createCommand(commandFixture('no-such-agent')), 'not_found', /no-such-agent/);
        await rejectsWith(s.createCommand(c), 'conflict', new RegExp(c.id));
      }));

    it('state changes are compare-and-set: only from the states given', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 1);
        const c = await s.createCommand(commandFixture(agents[0]!.id));
        const d = await s.updateCommand(c.id, ['pending'], { state: 'delivered', deliveredAt: T0 + 1 });
        assert.equal(d?.state, 'delivered');
        assert.equal(d?.deliveredAt, T0 + 1);
        // A second receipt does nothing: it is delivered already.
        assert.equal(
          await s.updateCommand(c.id, ['pending'], { state: 'delivered', deliveredAt: T0 + 2 }),
          undefined,
        );
        const done = await s.updateCommand(c.id, ['pending', 'delivered'], {
          state: 'failed',
          finishedAt: T0 + 3,
          error: 'start time does not match',
          result: { code: 'start_time_mismatch' },
        });
        assert.deepEqual(done, {
          ...c,
          state: 'failed',
          deliveredAt: T0 + 1,
          finishedAt: T0 + 3,
          error: 'start time does not match',
          result: { code: 'start_time_mismatch' },
        });
        // A late result cannot overwrite a final state.
        assert.equal(
          await s.updateCommand(c.id, ['pending', 'delivered'], { state: 'succeeded' }),
          undefined,
        );
        assert.equal((await s.getCommand(c.id))?.state, 'failed');
        await rejectsWith(s.updateCommand('no-such-command', ['pending'], { state: 'failed' }), 'not_found');
      }));

    it('counts commands by state, every state present', () =>
      withStorage(open, async (s) => {
        assert.deepEqual(await s.countCommands(), {
          pending: 0,
          delivered: 0,
          succeeded: 0,
          failed: 0,
          expired: 0,
        });
        const { agents } = await seedFleet(s, 1);
        const a = agents[0]!.id;
        await s.createCommand(commandFixture(a));
        const c = await s.createCommand(commandFixture(a));
        await s.createCommand(commandFixture(a, { state: 'succeeded' }));
        await s.updateCommand(c.id, ['pending'], { state: 'delivered', deliveredAt: T0 + 1 });
        assert.deepEqual(await s.countCommands(), {
          pending: 1,
          delivered: 1,
          succeeded: 1,
          failed: 0,
          expired: 0,
        });
      }));

    it('open commands of an agent come oldest first; expiry ends only open, due ones', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 2);
        const [a, b] = [agents[0]!.id, agents[1]!.id];
        const c1 = await s.createCommand(commandFixture(a, { expiresAt: T0 + 10 }));
        const c2 = await s.createCommand(commandFixture(a, { expiresAt: T0 + 100 }));
        const c3 = await s.createCommand(commandFixture(a, { expiresAt: T0 + 10, state: 'succeeded' }));
        const c4 = await s.createCommand(commandFixture(b, { expiresAt: T0 + 10 }));
        const never = await s.createCommand(commandFixture(b, { type: 'isolate', expiresAt: null }));
        await s.updateCommand(c4.id, ['pending'], { state: 'delivered', deliveredAt: T0 + 1 });
        assert.deepEqual(
          (await s.openCommands(a)).map((c) => c.id),
          [c1.id, c2.id],
        );
        const expired = await s.expireCommands(T0 + 10, 'no outcome in time');
        assert.deepEqual(expired.map((c) => c.id).sort(), [c1.id, c4.id].sort());
        for (const e of expired) {
          assert.equal(e.state, 'expired');
          assert.equal(e.error, 'no outcome in time');
          assert.equal(e.finishedAt, T0 + 10);
          assert.deepEqual(await s.getCommand(e.id), e);
        }
        assert.equal((await s.getCommand(c3.id))?.state, 'succeeded');
        assert.equal(
          (await s.getCommand(never.id))?.state,
          'pending',
          'a command without expiry never expires',
        );
        assert.deepEqual(
          (await s.openCommands(a)).map((c) => c.id),
          [c2.id],
        );
        assert.deepEqual(await s.expireCommands(T0 + 10, 'again'), []);
      }));

    it('list filters by agent, state and type, newest first, paged by cursor', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 2);
        const [a, b] = [agents[0]!.id, agents[1]!.id];
        const made: CommandRecord[] = [];
        for (let i = 0; i < 5; i++)
          made.push(await s.createCommand(commandFixture(a, { createdAt: T0 + i })));
        made.push(
          await s.createCommand(commandFixture(b, { type: 'quarantine_file', params: { path: '/tmp/x' } })),
        );
        await s.updateCommand(made[1]!.id, ['pending'], { state: 'succeeded' });
        const all = await s.listCommands({ limit: 100 });
        assert.deepEqual(
          all.commands.map((c) => c.id),
          [...made].reverse().map((c) => c.id),
        );
        assert.equal(all.nextCursor, undefined);
        assert.deepEqual(
          (await s.listCommands({ limit: 10, agentId: b })).commands.map((c) => c.id),
          [made[5]!.id],
        );
        assert.deepEqual(
          (await s.listCommands({ limit: 10, state: 'succeeded' })).commands.map((c) => c.id),
          [made[1]!.id],
        );
        assert.deepEqual(
          (await s.listCommands({ limit: 10, type: 'quarantine_file' })).commands.map((c) => c.id),
          [made[5]!.id],
        );
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await s.listCommands({ limit: 2, agentId: a, ...(cursor ? { cursor } : {}) });
          seen.push(...page.commands.map((c) => c.id));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        assert.deepEqual(
          seen,
          made
            .slice(0, 5)
            .reverse()
            .map((c) => c.id),
        );
        await rejectsWith(s.listCommands({ limit: 0 }), 'bad_request');
        await rejectsWith(s.listCommands({ limit: 5, cursor: 'garbage' }), 'bad_request');
      }));
  });

  describe('isolation state', () => {
    it('an isolate command sets the desired state one revision up, atomically with the command', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 1);
        const id = agents[0]!.id;
        assert.equal(await s.getIsolation(id), undefined);
        const iso = await s.createCommand(commandFixture(id, { type: 'isolate', params: {} }), {
          isolated: true,
          reason: 'ransomware',
          changedAt: T0 + 1,
          actorName: 'alice',
        });
        assert.equal(iso.isolationRevision, 1);
        assert.equal((await s.getCommand(iso.id))?.isolationRevision, 1);
        assert.deepEqual(await s.getIsolation(id), {
          agentId: id,
          desired: {
            isolated: true,
            revision: 1,
            reason: 'ransomware',
            commandId: iso.id,
            changedAt: T0 + 1,
            actorName: 'alice',
          },
          actual: null,
        });
        const res = await s.createCommand(commandFixture(id, { type: 'restore', params: {} }), {
          isolated: false,
          reason: 'cleaned',
          changedAt: T0 + 2,
          actorName: 'bob',
        });
        assert.equal(res.isolationRevision, 2);
        const rec = await s.getIsolation(id);
        assert.equal(rec?.desired.isolated, false);
        assert.equal(rec?.desired.commandId, res.id);
        assert.equal(
          await s.setDesiredIsolation(id, {
            isolated: false,
            reason: 'lifted locally',
            commandId: null,
            changedAt: T0 + 3,
            actorName: 'host',
          }),
          3,
        );
        assert.equal((await s.getIsolation(id))?.desired.commandId, null);
      }));

    it('a command that cannot be stored leaves the desired state untouched', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 1);
        const id = agents[0]!.id;
        const first = await s.createCommand(commandFixture(id, { type: 'isolate', params: {} }), {
          isolated: true,
          reason: 'r',
          changedAt: T0,
          actorName: 'alice',
        });
        // Same id again: refused, and the revision did not move.
        await rejectsWith(
          s.createCommand(
            { ...first, isolationRevision: null },
            { isolated: false, reason: 'x', changedAt: T0, actorName: 'x' },
          ),
          'conflict',
        );
        const rec = await s.getIsolation(id);
        assert.equal(rec?.desired.revision, 1);
        assert.equal(rec?.desired.isolated, true);
        await rejectsWith(
          s.createCommand(commandFixture('no-such-agent', { type: 'isolate' }), {
            isolated: true,
            reason: 'r',
            changedAt: T0,
            actorName: 'a',
          }),
          'not_found',
        );
        assert.equal(await s.getIsolation('no-such-agent'), undefined);
      }));

    it('actual reports are kept whole, also for agents never isolated; listed per agent', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 2);
        const [a, b] = [agents[0]!.id, agents[1]!.id];
        const report = actual({
          state: 'not_isolated',
          revision: 0,
          localRestore: { revision: 3, at: T0, codeId: 'rc-1' },
        });
        await s.recordActualIsolation(a, report);
        assert.deepEqual((await s.getIsolation(a))?.actual, report);
        assert.equal((await s.getIsolation(a))?.desired.revision, 0);
        await s.createCommand(commandFixture(b, { type: 'isolate' }), {
          isolated: true,
          reason: 'r',
          changedAt: T0,
          actorName: 'a',
        });
        await s.recordActualIsolation(b, actual());
        const list = await s.listIsolation();
        assert.deepEqual(list.map((r) => r.agentId).sort(), [a, b].sort());
        const rb = list.find((r) => r.agentId === b)!;
        assert.equal(rb.desired.isolated, true);
        assert.deepEqual(rb.actual, actual());
        // The desired state survives a report, the report survives a desired change.
        await s.createCommand(commandFixture(b, { type: 'restore' }), {
          isolated: false,
          reason: 'r',
          changedAt: T0,
          actorName: 'a',
        });
        assert.deepEqual((await s.getIsolation(b))?.actual, actual());
        await rejectsWith(s.recordActualIsolation('no-such-agent', actual()), 'not_found');
      }));
  });

  describe('restore codes', () => {
    it('are revealed once; rotation replaces them; use is recorded once', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 1);
        const id = agents[0]!.id;
        assert.equal(await s.getRestoreCode(id), undefined);
        await s.putRestoreCode(code(id));
        assert.deepEqual(await s.getRestoreCode(id), code(id));
        assert.equal(await s.revealRestoreCode(id, 'other-code', T0 + 1, 'alice'), undefined);
        assert.deepEqual(await s.revealRestoreCode(id, 'rc-1', T0 + 1, 'alice'), code(id));
        assert.deepEqual(
          await s.getRestoreCode(id),
          code(id, { sealed: null, revealedAt: T0 + 1, revealedBy: 'alice' }),
        );
        assert.equal(await s.revealRestoreCode(id, 'rc-1', T0 + 2, 'bob'), undefined);
        await s.markRestoreCodeUsed(id, 'rc-1', T0 + 5);
        await s.markRestoreCodeUsed(id, 'rc-1', T0 + 9);
        assert.equal((await s.getRestoreCode(id))?.usedAt, T0 + 5);
        await rejectsWith(s.markRestoreCodeUsed(id, 'rc-9', T0), 'not_found');
        await s.putRestoreCode(code(id, { codeId: 'rc-2', sealed: 'new', createdAt: T0 + 10 }));
        assert.deepEqual(
          await s.getRestoreCode(id),
          code(id, { codeId: 'rc-2', sealed: 'new', createdAt: T0 + 10 }),
        );
        await rejectsWith(s.putRestoreCode(code('no-such-agent')), 'not_found');
      }));
  });
}
