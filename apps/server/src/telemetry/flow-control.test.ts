// Flow control against a storage made slow for real: another SQLite connection holds the write lock
// of the server's database file while many simulated agents push. The server must tell them to
// slow down (FlowControl), keep its queue and memory bounded, and store everything once the lock
// is released.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SimulatedAgent, makeProcessEvent, prepareBatch } from '@palisade/testkit';
import Database from 'better-sqlite3';
import { startTestServer } from '../testing/harness.js';
import { FlowController, type FlowTarget } from './flow-control.js';

test('slowed storage: agents get FlowControl, queued bytes and RSS stay bounded, nothing is lost', async (t) => {
  const cap = 512 * 1024;
  const srv = await startTestServer({ ingest: { maxQueuedBytes: cap } });
  t.after(() => srv.stop());
  const agents: SimulatedAgent[] = [];
  for (let i = 0; i < 24; i++) {
    const a = await SimulatedAgent.register({
      registrationUrl: srv.server.registrationUrl,
      registrationKey: srv.registrationKey,
      caPem: srv.server.caPem,
    });
    await a.connect({ timeoutMs: 20_000 });
    agents.push(a);
  }
  t.after(async () => {
    for (const a of agents) await a.close();
  });
  // Distinct events per batch, so compression cannot shrink the backlog to nothing.
  const batches = 30;
  const perBatch = 200;
  const frameBytes: number[] = [];
  const prepared = Array.from({ length: batches }, (_, b) => {
    const p = prepareBatch(
      Array.from({ length: perBatch }, (_, i) =>
        makeProcessEvent(b * perBatch + i, { marker: `fc-${b}-${i}` }),
      ),
    );
    frameBytes.push(p.tail.byteLength + 16);
    return p;
  });
  const maxFrame = Math.max(...frameBytes);

  const locker = new Database(join(srv.dataDir, 'palisade.db'));
  t.after(() => locker.close());
  locker.pragma('busy_timeout = 5000');
  locker.exec('BEGIN IMMEDIATE'); // the server's writes now wait for this lock
  const rss0 = process.memoryUsage().rss;
  let maxQueued = 0;
  let maxRss = rss0;
  const sampler = setInterval(() => {
    maxQueued = Math.max(maxQueued, srv.server.ingestStats().queuedBytes);
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }, 10);
  t.after(() => clearInterval(sampler));
  const sending = agents.map(async (a) => {
    const acks = [];
    for (const p of prepared) acks.push(a.sendBatch(p));
    return Promise.all(acks);
  });
  // Hold the lock well below the store's 5 s busy timeout: slow, not failing.
  await new Promise((r) => setTimeout(r, 2500));
  const duringHold = srv.server.ingestStats();
  locker.exec('COMMIT');
  const results = await Promise.all(sending);
  clearInterval(sampler);

  const stats = srv.server.ingestStats();
  t.diagnostic(
    `max queued ${maxQueued} B (cap ${cap}, frame ${maxFrame}), RSS +${((maxRss - rss0) / 1048576).toFixed(1)} MiB, ${stats.slowDowns} slow-downs, ${stats.resumes} resumes`,
  );
  assert.ok(duringHold.slowDowns > 0, 'agents were told to slow down');
  assert.ok(
    agents.every((a) => a.flowFrames > 0),
    'every pushing agent got a FlowControl frame',
  );
  assert.ok(stats.resumes > 0, 'and their window back once the lock went away');
  // Hard bound: the cap plus what each connection can hand in before it is stopped.
  assert.ok(maxQueued <= cap + agents.length * maxFrame, `queued ${maxQueued} bytes`);
  assert.ok(maxRss - rss0 < 256 * 1048576, 'RSS growth bounded');
  assert.equal(stats.failures, 0);
  for (const acks of results) assert.equal(acks.filter((a) => !a.duplicate).length, batches);
  for (const a of agents) assert.equal(await srv.server.storage.lastSeq(a.agentId), BigInt(batches));
  assert.equal(stats.events, agents.length * batches * perBatch, 'every event stored');
  assert.equal(stats.duplicates, 0);
});

test('FlowController: slows above half the cap (pause grows with the backlog), once per pause; resumes below a quarter', async () => {
  let queued = 0;
  let now = 1000;
  const sent: Array<[string, number, number]> = [];
  const target = (name: string): FlowTarget => ({ sendFlow: (w, p) => sent.push([name, w, p]) });
  const a = target('a');
  const b = target('b');
  const fc = new FlowController(
    () => queued,
    () => now,
    { maxQueuedBytes: 1000, checkMs: 5 },
  );
  queued = 500;
  fc.onBatch(a);
  assert.deepEqual(sent, [], 'at half the cap nothing happens');
  queued = 600;
  fc.onBatch(a);
  queued = 1000;
  fc.onBatch(b);
  assert.deepEqual(sent, [
    ['a', 1, 280],
    ['b', 1, 1000],
  ]);
  fc.onBatch(a);
  assert.equal(sent.length, 2, 'no second frame while the pause lasts');
  now += 300;
  fc.onBatch(a);
  assert.equal(sent.length, 3, 'paused again when the backlog is still there');
  queued = 300;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(sent.length, 3, 'still above a quarter: no resume');
  queued = 200;
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(sent.slice(3).sort(), [
    ['a', 8, 0],
    ['b', 8, 0],
  ]);
  assert.equal(fc.slowedCount, 0);
  fc.close();
});
