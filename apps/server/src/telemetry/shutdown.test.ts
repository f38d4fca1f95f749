import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SimulatedAgent, makeProcessEvent, prepareBatch } from '@palisade/testkit';
import { startTestServer } from '../testing/harness.js';

test('stopping the server mid-stream: every acked batch is in the database after a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-shutdown-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startTestServer({ dataDir, keepDir: true, ingest: { maxInFlight: 64 } });
  const agent = await SimulatedAgent.register({
    registrationUrl: first.server.registrationUrl,
    registrationKey: first.registrationKey,
    caPem: first.server.caPem,
  });
  await agent.connect({ window: 64 });
  const batch = prepareBatch(Array.from({ length: 100 }, (_, i) => makeProcessEvent(i)));
  const sends = Array.from({ length: 60 }, () => agent.sendBatch(batch));
  // Stop while batches are in flight.
  await new Promise((r) => setTimeout(r, 20));
  await first.server.close();
  const outcomes = await Promise.allSettled(sends);
  const acked = outcomes.filter((o) => o.status === 'fulfilled').length;
  assert.ok(acked > 0, 'batches received before the stop are stored and acked while draining');
  for (const o of outcomes) {
    if (o.status === 'rejected') assert.match(String(o.reason), /closed/);
  }

  const second = await startTestServer({ dataDir, keepDir: true });
  try {
    const stored = await second.server.storage.countEvents(agent.agentId);
    assert.ok(stored >= acked * 100, `stored ${stored} events, ${acked} batches were acked`);
    assert.equal(stored % 100, 0, 'batches are stored whole');
    assert.equal(await second.server.storage.lastSeq(agent.agentId), BigInt(stored / 100));
  } finally {
    await second.stop();
  }
});
