import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, EventBatchSchema, EventSchema, toBinary } from '@palisade/protocol';
import { authEvent, batch, fileEvent, processEvent, T0 } from './conformance-fixtures.js';
import { type OpenStorage, rejectsWith, seedFleet, withStorage } from './conformance-helpers.js';
import type { Storage } from './storage.js';

async function all(s: Storage, agentId?: string) {
  return (await s.searchEvents({ limit: 100_000, ...(agentId ? { agentId } : {}) })).events;
}

/** batchConformance registers the tests of storeBatches, lastSeq and countEvents. */
export function batchConformance(open: OpenStorage): void {
  describe('event batches', () => {
    it('reports a running writer while it can store batches', () =>
      withStorage(open, async (s) => {
        const h = s.health();
        assert.equal(h.writer, 'running');
        assert.equal(h.failingSince, undefined);
      }));

    it('stores batches, reports each as new, and reads every event back intact', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 2);
        const [a, b] = [agents[0]!.id, agents[1]!.id];
        const b1 = batch(a, 1, [processEvent(1), processEvent(2, { activityId: 2 })], T0 + 10);
        const b2 = batch(b, 1, [fileEvent(3, '/etc/passwd'), authEvent(4, 'sshd: Failed password')], T0 + 20);
        const b3 = batch(a, 2, [processEvent(5)], T0 + 30);
        const res = await s.storeBatches([b1, b2, b3]);
        assert.deepEqual(res, [
          { agentId: a, seq: 1n, duplicate: false },
          { agentId: b, seq: 1n, duplicate: false },
          { agentId: a, seq: 2n, duplicate: false },
        ]);
        assert.equal(await s.countEvents(), 5);
        assert.equal(await s.countEvents(a), 3);
        assert.equal(await s.countEvents(b), 2);
        assert.equal(await s.countEvents('no-such-agent'), 0);
        const got = await all(s);
        assert.equal(got.length, 5);
        // Newest first: batch b3, then b2 (last event first), then b1.
        const expected = [
          [b3, 0],
          [b2, 1],
          [b2, 0],
          [b1, 1],
          [b1, 0],
        ] as const;
        expected.forEach(([bt, index], i) => {
          const e = got[i]!;
          assert.equal(e.agentId, bt.agentId);
          assert.equal(e.seq, bt.seq);
          assert.equal(e.index, index);
          assert.equal(e.receivedAt, bt.receivedAt);
          assert.deepEqual(toBinary(EventSchema, e.event), toBinary(EventSchema, bt.events[index]!));
        });
        assert.equal(new Set(got.map((e) => e.id)).size, 5, 'event ids are unique');
      }));

    it('reports a batch seen before as duplicate and does not store it twice', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        await s.storeBatches([batch(a, 1, [processEvent(1), processEvent(2)])]);
        const retry = await s.storeBatches([
          batch(a, 1, [processEvent(1), processEvent(2)]),
          batch(a, 2, []),
        ]);
        assert.deepEqual(
          retry.map((r) => r.duplicate),
          [true, false],
        );
        assert.equal(await s.countEvents(), 2);
        // The same batch twice in one call: the first is stored, the second is a duplicate.
        const twice = await s.storeBatches([
          batch(a, 3, [processEvent(3, { cmd: '/bin/first' })]),
          batch(a, 3, [processEvent(4, { cmd: '/bin/second' })]),
        ]);
        assert.deepEqual(
          twice.map((r) => r.duplicate),
          [false, true],
        );
        const got = await all(s);
        assert.equal(got.length, 3);
        assert.equal(got[0]!.event.process?.cmdLine, '/bin/first');
      }));

    it('stores all batches of a call or none: one bad batch rejects the whole call', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        await s.storeBatches([batch(a, 1, [processEvent(1)])]);
        await rejectsWith(
          s.storeBatches([batch(a, 2, [processEvent(2)]), batch('no-such-agent', 1, [processEvent(3)])]),
          'not_found',
          /no-such-agent/,
        );
        await rejectsWith(
          s.storeBatches([batch(a, 2, [processEvent(2)]), batch(a, 0, [processEvent(3)])]),
          'validation_failed',
          /seq/,
        );
        assert.equal(await s.countEvents(), 1);
        assert.equal(await s.lastSeq(a), 1n);
        // Nothing of the failed calls was recorded: batch 2 is new when it comes again.
        const ok = await s.storeBatches([batch(a, 2, [processEvent(2)])]);
        assert.equal(ok[0]!.duplicate, false);
        assert.equal(await s.countEvents(), 2);
      }));

    it('lastSeq is per agent, the highest stored (not the latest), exact beyond 2^53, 0n if none', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 2);
        const [a, b] = [agents[0]!.id, agents[1]!.id];
        assert.equal(await s.lastSeq(a), 0n);
        await s.storeBatches([batch(a, 5, [processEvent(1)]), batch(a, 3, [])]);
        assert.equal(await s.lastSeq(a), 5n);
        assert.equal(await s.lastSeq(b), 0n);
        const huge = 2n ** 53n + 1n;
        await s.storeBatches([batch(b, huge, [processEvent(2)])]);
        assert.equal(await s.lastSeq(b), huge);
        const dup = await s.storeBatches([batch(b, huge, [processEvent(2)])]);
        assert.equal(dup[0]!.duplicate, true);
        assert.equal(await s.lastSeq('no-such-agent'), 0n);
      }));

    it('an empty batch is recorded for dedupe and lastSeq but adds no events', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        await s.storeBatches([batch(a, 1, [])]);
        assert.equal(await s.lastSeq(a), 1n);
        assert.equal(await s.countEvents(a), 0);
        assert.equal((await s.storeBatches([batch(a, 1, [])]))[0]!.duplicate, true);
        assert.deepEqual(await all(s), []);
      }));

    it('stores a large batch and many batches in one call', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 3);
        const big = Array.from({ length: 5000 }, (_, i) => processEvent(i));
        const calls = agents.flatMap((a, k) =>
          Array.from({ length: 20 }, (_, j) => batch(a.id, j + 1, big.slice(j * 10, j * 10 + 10 + k))),
        );
        calls.push(batch(agents[0]!.id, 100, big));
        const res = await s.storeBatches(calls);
        assert.equal(res.length, 61);
        assert.ok(res.every((r) => !r.duplicate));
        assert.equal(await s.countEvents(), 20 * 10 + 20 * 11 + 20 * 12 + 5000);
        assert.equal(await s.countEvents(agents[2]!.id), 20 * 12);
      }));

    it('extreme field values (int64 times, uint32 class and activity) are stored and found', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        const late = processEvent(1, { cmd: '/bin/late' });
        late.timeMs = 2n ** 63n - 1n;
        const early = processEvent(2, { cmd: '/bin/early' });
        early.timeMs = -(2n ** 63n);
        const odd = processEvent(3, { cmd: '/bin/odd' });
        odd.classUid = 4_294_967_295;
        odd.activityId = 4_294_967_295;
        const tricky = processEvent(4, { cmd: '/bin/tricky' });
        tricky.classUid = 1;
        tricky.activityId = 7007; // must not be mistaken for class 8, activity 7 or the like
        await s.storeBatches([batch(a, 1, [late, early, odd, tricky])]);
        assert.equal(await s.countEvents(a), 4);
        const find = async (q: Parameters<Storage['searchEvents']>[0]) =>
          (await s.searchEvents(q)).events.map((e) => e.event.process?.cmdLine);
        assert.deepEqual(await find({ limit: 10, fromMs: Number.MAX_SAFE_INTEGER }), ['/bin/late']);
        assert.deepEqual(await find({ limit: 10, toMs: Number.MIN_SAFE_INTEGER }), ['/bin/early']);
        assert.deepEqual(await find({ limit: 10, classUid: 4_294_967_295, activityId: 4_294_967_295 }), [
          '/bin/odd',
        ]);
        assert.deepEqual(await find({ limit: 10, activityId: 4_294_967_295 }), ['/bin/odd']);
        assert.deepEqual(await find({ limit: 10, activityId: 7007 }), ['/bin/tricky']);
        assert.deepEqual(await find({ limit: 10, classUid: 1 }), ['/bin/tricky']);
        assert.deepEqual(await find({ limit: 10, activityId: 7 }), []);
        const back = (await s.searchEvents({ limit: 10, contains: '/bin/late' })).events[0]!;
        assert.equal(back.event.timeMs, 2n ** 63n - 1n);
      }));

    it('a batch given with its encoded body (as received) reads back the same events', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        const events = [
          processEvent(1),
          fileEvent(2, '/etc/shadow'),
          authEvent(3, 'su: FAILED SU (to root)'),
        ];
        const body = toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
        await s.storeBatches([{ ...batch(a, 1, events), body }]);
        const got = (await all(s)).reverse();
        assert.equal(got.length, 3);
        got.forEach((e, i) => {
          assert.deepEqual(toBinary(EventSchema, e.event), toBinary(EventSchema, events[i]!));
        });
        assert.equal((await s.searchEvents({ limit: 5, contains: 'FAILED SU' })).events.length, 1);
      }));

    it('migrate() again is a no-op that keeps every record', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 1);
        await s.storeBatches([batch(fleet.agents[0]!.id, 1, [processEvent(1)])]);
        await s.migrate();
        await s.migrate();
        assert.deepEqual(await s.getAgent(fleet.agents[0]!.id), fleet.agents[0]);
        assert.equal(await s.countEvents(), 1);
        assert.equal(await s.lastSeq(fleet.agents[0]!.id), 1n);
      }));
  });
}
