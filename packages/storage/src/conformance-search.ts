import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OcsfClass } from '@palisade/protocol';
import { authEvent, batch, fileEvent, processEvent, T0 } from './conformance-fixtures.js';
import { type OpenStorage, rejectsWith, seedFleet, withStorage } from './conformance-helpers.js';
import type { Storage } from './storage.js';
import type { EventQuery, StoredEvent } from './types.js';

const P = OcsfClass.ProcessActivity;

/** Stores a small mixed corpus over two agents and returns their ids. */
async function corpus(s: Storage): Promise<{ a: string; b: string }> {
  const { agents } = await seedFleet(s, 2);
  const [a, b] = [agents[0]!.id, agents[1]!.id];
  await s.storeBatches([
    batch(
      a,
      1,
      Array.from({ length: 10 }, (_, i) => processEvent(i)),
    ),
    batch(b, 1, [
      processEvent(20, { cmd: '/usr/bin/grep a_b notes' }),
      processEvent(21, { cmd: '/usr/bin/grep axb notes' }),
      processEvent(22, { cmd: '/usr/bin/printf 100%_done' }),
      processEvent(23, { cmd: "/usr/bin/echo it's café time" }),
      processEvent(24, { cmd: '/usr/bin/echo 100xydone' }),
    ]),
  ]);
  await s.storeBatches([
    batch(a, 2, [
      fileEvent(30, '/var/tmp/Payload.sh'),
      authEvent(31, 'Nov 26 12:00:01 host sshd[811]: Failed password for root from 192.0.2.7'),
      processEvent(32, { activityId: 2, cmd: '/usr/bin/sleep 1' }),
    ]),
  ]);
  return { a, b };
}

async function search(s: Storage, q: Partial<EventQuery>): Promise<StoredEvent[]> {
  const page = await s.searchEvents({ limit: 1000, ...q });
  assert.equal(page.nextCursor, undefined, 'a page that is not full has no cursor');
  return page.events;
}

const cmds = (es: StoredEvent[]) =>
  es.map((e) => e.event.process?.cmdLine ?? e.event.file?.path ?? e.event.rawData);

/** Pages through a query with `limit` and returns every event seen, checking order and no overlap. */
async function pageAll(s: Storage, q: Omit<EventQuery, 'limit' | 'cursor'>, limit: number) {
  const seen: StoredEvent[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await s.searchEvents({ ...q, limit, ...(cursor ? { cursor } : {}) });
    assert.ok(page.events.length <= limit);
    seen.push(...page.events);
    if (!page.nextCursor) return seen;
    assert.equal(page.events.length, limit, 'a page with a cursor is full');
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

/**
 * searchConformance registers the tests of searchEvents. Order: newest stored first, that is by
 * descending event id (ids are decimal integers increasing in storage order; within a batch the
 * later event has the higher id).
 */
export function searchConformance(open: OpenStorage): void {
  describe('event search', () => {
    it('returns everything newest stored first, with ids decreasing', () =>
      withStorage(open, async (s) => {
        await corpus(s);
        const got = await search(s, {});
        assert.equal(got.length, 18);
        for (let i = 1; i < got.length; i++) {
          assert.ok(BigInt(got[i - 1]!.id) > BigInt(got[i]!.id), 'ids strictly decrease');
        }
        assert.equal(got[0]!.event.process?.cmdLine, '/usr/bin/sleep 1');
        assert.equal(got.at(-1)!.event.process?.pid, 4000);
      }));

    it('filters by agent, class, activity and time range', () =>
      withStorage(open, async (s) => {
        const { a, b } = await corpus(s);
        assert.equal((await search(s, { agentId: a })).length, 13);
        assert.equal((await search(s, { agentId: b })).length, 5);
        assert.equal((await search(s, { agentId: 'no-such-agent' })).length, 0);
        assert.equal((await search(s, { classUid: P })).length, 16);
        assert.equal((await search(s, { classUid: OcsfClass.FileSystemActivity })).length, 1);
        const auth = await search(s, { classUid: OcsfClass.Authentication, agentId: a });
        assert.equal(auth.length, 1);
        assert.equal(auth[0]!.event.statusId, 2);
        assert.equal((await search(s, { classUid: OcsfClass.NetworkActivity })).length, 0);
        assert.deepEqual(cmds(await search(s, { classUid: P, activityId: 2 })), ['/usr/bin/sleep 1']);
        assert.equal((await search(s, { activityId: 1 })).length, 16, '15 launches and 1 logon');
        // fromMs inclusive, toMs exclusive: events 2..4 of agent a.
        const window = await search(s, { agentId: a, fromMs: T0 + 2000, toMs: T0 + 5000 });
        assert.deepEqual(
          window.map((e) => e.event.process?.pid),
          [4004, 4003, 4002],
        );
        assert.equal((await search(s, { fromMs: T0 + 30_000 })).length, 3);
        assert.equal((await search(s, { toMs: T0 })).length, 0);
      }));

    it('contains is a case-sensitive literal substring of command line, path or raw data', () =>
      withStorage(open, async (s) => {
        const { b } = await corpus(s);
        assert.deepEqual(cmds(await search(s, { contains: 'a_b' })), ['/usr/bin/grep a_b notes']);
        assert.deepEqual(cmds(await search(s, { contains: '100%_' })), ['/usr/bin/printf 100%_done']);
        assert.deepEqual(cmds(await search(s, { contains: "it's café" })), ["/usr/bin/echo it's café time"]);
        assert.equal((await search(s, { contains: '%' })).length, 1);
        assert.equal((await search(s, { contains: 'Payload.sh' })).length, 1);
        assert.equal((await search(s, { contains: 'payload.sh' })).length, 0, 'case-sensitive');
        assert.equal((await search(s, { contains: 'Failed password for root' })).length, 1);
        assert.equal((await search(s, { contains: '/srv/data/run-7' })).length, 1);
        assert.equal((await search(s, { contains: '/home/alice' })).length, 16, 'cwd is searched');
        assert.equal((await search(s, { contains: 'run-' })).length, 10);
        assert.equal((await search(s, { contains: 'run-', agentId: b })).length, 0);
        assert.equal((await search(s, { contains: 'grep', classUid: P, activityId: 1 })).length, 2);
        assert.equal((await search(s, { contains: 'no such text anywhere' })).length, 0);
      }));

    it('limit caps a page and the cursor pages through everything with no overlap and no gap', () =>
      withStorage(open, async (s) => {
        const { agents } = await seedFleet(s, 3);
        const calls = [];
        for (let seq = 1; seq <= 6; seq++) {
          for (const [k, ag] of agents.entries()) {
            const n = (seq * 3 + k) % 7; // 0..6 events, some batches empty
            calls.push(
              batch(
                ag.id,
                seq,
                Array.from({ length: n }, (_, i) =>
                  processEvent(seq * 100 + k * 10 + i, { activityId: 1 + (i % 2) }),
                ),
              ),
            );
          }
          await s.storeBatches(calls.splice(0));
        }
        const everything = await search(s, {});
        const total = await s.countEvents();
        assert.equal(everything.length, total);
        const first = await s.searchEvents({ limit: 4 });
        assert.equal(first.events.length, 4);
        assert.ok(first.nextCursor);
        for (const limit of [1, 3, 4, 7, total, total + 1]) {
          const paged = await pageAll(s, {}, limit);
          assert.deepEqual(
            paged.map((e) => e.id),
            everything.map((e) => e.id),
            `paging by ${limit}`,
          );
        }
        const exits = await search(s, { activityId: 2 });
        assert.ok(exits.length > 0);
        const pagedExits = await pageAll(s, { activityId: 2, agentId: agents[1]!.id }, 2);
        assert.deepEqual(
          pagedExits.map((e) => e.id),
          exits.filter((e) => e.agentId === agents[1]!.id).map((e) => e.id),
        );
      }));

    it('a cursor stays valid while new batches arrive: later pages hold only older events', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        await s.storeBatches([
          batch(
            a,
            1,
            Array.from({ length: 6 }, (_, i) => processEvent(i)),
          ),
        ]);
        const p1 = await s.searchEvents({ limit: 4 });
        await s.storeBatches([batch(a, 2, [processEvent(50)])]);
        const p2 = await s.searchEvents({ limit: 4, cursor: p1.nextCursor! });
        assert.deepEqual(
          [...p1.events, ...p2.events].map((e) => e.event.process?.pid),
          [4005, 4004, 4003, 4002, 4001, 4000],
        );
      }));

    it('refuses a malformed cursor or limit with bad_request', () =>
      withStorage(open, async (s) => {
        await corpus(s);
        await rejectsWith(s.searchEvents({ limit: 10, cursor: 'garbage!' }), 'bad_request', /cursor/);
        await rejectsWith(
          s.searchEvents({ limit: 10, cursor: '' + '9'.repeat(40) }),
          'bad_request',
          /cursor/,
        );
        await rejectsWith(s.searchEvents({ limit: 0 }), 'bad_request', /limit/);
        await rejectsWith(s.searchEvents({ limit: 2.5 }), 'bad_request', /limit/);
        await rejectsWith(s.searchEvents({ limit: 5, fromMs: Number.NaN }), 'bad_request', /fromMs/);
        assert.equal((await search(s, {})).length, 18, 'still serving after bad queries');
      }));

    it('a stored batch that cannot be decoded is skipped and reported; the rest of the page is served', () =>
      withStorage(open, async (s) => {
        const { a, b } = await corpus(s);
        // What a batch stored under an older rule (or damaged on disk) looks like to a reader: a
        // body that is not a valid EventBatch (field number 0), with an index that matches the text.
        const index = {
          count: 1,
          minTimeMs: BigInt(T0),
          maxTimeMs: BigInt(T0),
          kinds: ['1007.1'],
          text: 'poison',
        };
        let stored = true;
        try {
          await s.storeBatches([
            {
              agentId: b,
              seq: 7n,
              events: [],
              receivedAt: T0,
              body: Uint8Array.from([0x0a, 0x02, 0x00, 0x00]),
              index,
            },
          ]);
        } catch {
          stored = false; // a back end may refuse it at the door; then there is nothing to skip
        }
        await s.storeBatches([batch(a, 3, [processEvent(40, { cmd: '/usr/bin/poison-neighbour' })])]);
        const page = await s.searchEvents({ limit: 1000 });
        assert.equal(page.events.length, 19, 'every decodable event is served');
        if (stored) {
          assert.equal(page.skipped?.length, 1);
          assert.equal(page.skipped?.[0]?.agentId, b);
          assert.equal(page.skipped?.[0]?.seq, 7n);
          assert.match(page.skipped?.[0]?.reason ?? '', /field number 0/);
          const hit = await s.searchEvents({ limit: 10, contains: 'poison' });
          assert.deepEqual(cmds(hit.events), ['/usr/bin/poison-neighbour']);
          assert.equal(hit.skipped?.length, 1, 'a candidate by its text, skipped when read');
        }
        assert.equal((await s.searchEvents({ limit: 10, agentId: a })).skipped?.length ?? 0, 0);
      }));
  });
}
