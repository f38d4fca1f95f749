import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { conformanceFixtures as fx } from '@palisade/storage/testing';
import { searchEvents } from './event-search.js';
import { openSqliteStorage, type SqliteStorage } from './index.js';
import { Statements } from './statements.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-search-test-'));
const BATCHES = 400;
const PER_BATCH = 100;
let s: SqliteStorage;

before(async () => {
  s = await openSqliteStorage({ path: join(dir, 'search.sqlite') });
  const g = fx.groupFixture();
  await s.createGroup(g);
  await s.createKey(fx.keyFixture(g.id, { id: 'k' }));
  await s.createAgent(fx.agentFixture(g.id, 'k', { id: 'a' }));
  const events = Array.from({ length: PER_BATCH }, (_, i) => fx.processEvent(i));
  const oldest = [...events];
  oldest[3] = fx.processEvent(3, { cmd: '/usr/bin/oldest-needle' });
  const all = Array.from({ length: BATCHES }, (_, b) => fx.batch('a', b + 1, b === 0 ? oldest : events));
  for (let i = 0; i < all.length; i += 50) await s.storeBatches(all.slice(i, i + 50));
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite event search over many batches', () => {
  it('yields to the event loop while scanning, and still finds the oldest match', async () => {
    // yieldEveryMs 0: yield after every slice, so the test does not depend on this machine's speed.
    const st = new Statements(s.db);
    let ticks = 0;
    let stop = false;
    const tick = () => {
      ticks++;
      if (!stop) setImmediate(tick);
    };
    setImmediate(tick);
    const before = ticks;
    const page = await searchEvents(st, { limit: 10, contains: 'oldest-needle' }, { yieldEveryMs: 0 });
    const during = ticks - before;
    stop = true;
    assert.equal(page.events.length, 1);
    assert.equal(page.events[0]!.seq, 1n);
    assert.equal(page.events[0]!.index, 3);
    assert.ok(during >= 1, `the event loop ran ${during} times during the search`);
    assert.deepEqual(
      (await s.searchEvents({ limit: 10, contains: 'oldest-needle' })).events.map((e) => e.id),
      page.events.map((e) => e.id),
    );
  });

  it('paging across many slices sees every event exactly once', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await s.searchEvents({ limit: 997, activityId: 1, ...(cursor ? { cursor } : {}) });
      for (const e of page.events) {
        assert.ok(!seen.has(e.id), `event ${e.id} seen twice`);
        seen.add(e.id);
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    assert.equal(seen.size, BATCHES * PER_BATCH);
  });
});
