import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PalisadeError } from '@palisade/common';
import { conformanceFixtures as fx } from '@palisade/storage/testing';
import { waitFor } from '@palisade/testkit';
import { openSqliteStorage, type SqliteStorage } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-writer-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `db-${++n}.sqlite`);

async function withAgent(s: SqliteStorage): Promise<string> {
  const g = fx.groupFixture();
  await s.createGroup(g);
  const k = fx.keyFixture(g.id);
  await s.createKey(k);
  const a = fx.agentFixture(g.id, k.id);
  await s.createAgent(a);
  return a.id;
}

const events = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => fx.processEvent(from + i));

describe('sqlite writer thread', () => {
  it('close() waits for writes still in flight, and they are durable', async () => {
    const path = freshPath();
    const s = await openSqliteStorage({ path });
    const a = await withAgent(s);
    const writes = Array.from({ length: 10 }, (_, i) =>
      s.storeBatches([fx.batch(a, i + 1, events(i * 100, 100))]),
    );
    await s.close();
    const results = await Promise.all(writes);
    assert.ok(results.every((r) => r[0]!.duplicate === false));
    await rejectsUnavailable(s.storeBatches([fx.batch(a, 11, [])]));
    const again = await openSqliteStorage({ path });
    try {
      assert.equal(await again.countEvents(a), 1000);
      assert.equal(await again.lastSeq(a), 10n);
    } finally {
      await again.close();
    }
  });

  it('a writer thread that dies is restarted: writes are refused meanwhile (not acked), then stored once', async () => {
    const s = await openSqliteStorage({
      path: freshPath(),
      writerRestartBackoff: { initialMs: 400, maxMs: 400 },
    });
    try {
      const a = await withAgent(s);
      await s.storeBatches([fx.batch(a, 1, events(0, 5))]);
      assert.deepEqual(s.health(), { writer: 'running', restarts: 0 });
      // Failure injection: stop the worker the way a crash would.
      await s.killWriterForTesting();
      await rejectsUnavailable(s.storeBatches([fx.batch(a, 2, events(5, 5))]));
      assert.equal(s.health().writer, 'restarting');
      assert.match(s.health().lastError ?? '', /exited/);
      assert.equal(await s.countEvents(a), 5, 'reads keep working');
      await waitFor('the writer to run again', () => s.health().writer === 'running', 10_000);
      assert.equal(s.health().restarts, 1);
      const again = await s.storeBatches([fx.batch(a, 1, events(0, 5)), fx.batch(a, 2, events(5, 5))]);
      assert.deepEqual(
        again.map((r) => r.duplicate),
        [true, false],
        'the batch stored before the crash is a duplicate, the refused one is stored now',
      );
      assert.equal(await s.countEvents(a), 10);
    } finally {
      await s.close();
    }
    assert.equal(s.health().writer, 'stopped');
  });

  it('two storages on one file (primary and standby sink) store each batch exactly once', async () => {
    const path = freshPath();
    const primary = await openSqliteStorage({ path });
    const standby = await openSqliteStorage({ path });
    try {
      const a = await withAgent(primary);
      // Both receive the same 40 batches (an agent that failed over and retried), interleaved.
      const sent = Array.from({ length: 40 }, (_, i) => fx.batch(a, i + 1, events(i * 10, 10)));
      const results = await Promise.all(
        sent.flatMap((b) => [primary.storeBatches([b]), standby.storeBatches([b])]),
      );
      const stored = results.flat().filter((r) => !r.duplicate);
      assert.equal(stored.length, 40, 'each batch stored by exactly one of the two');
      assert.equal(await standby.countEvents(a), 400);
      assert.equal(await primary.lastSeq(a), 40n);
    } finally {
      await primary.close();
      await standby.close();
    }
  });
});

async function rejectsUnavailable(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PalisadeError, String(err));
    assert.equal(err.code, 'unavailable');
    return true;
  });
}
