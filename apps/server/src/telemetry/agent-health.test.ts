// Agent health through the admin API: channel, last ack, spool depth, age of the oldest unsent
// event and the spool's drop report, as a real simulated agent reports them over WSS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedAgent, makeProcessEvent } from '@palisade/testkit';
import { startTestServer } from '../testing/harness.js';
import { agentHealth } from './agent-health.js';

test('GET /agents/:id shows channel, last ack, spool depth, oldest unsent age and the exact drop report', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const a = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  t.after(() => a.close());
  const before = await srv.api('GET', `/api/v1/agents/${a.agentId}`);
  assert.equal(before.json.health.state, 'disconnected');
  assert.equal(before.json.health.last_ack_at, null);
  assert.equal(before.json.health.spool_depth, null);

  await a.connect({ url: srv.server.standbyUrl });
  await a.sendBatch([makeProcessEvent(1)]);
  const now = Date.now();
  a.sendHeartbeat({
    spoolDepth: 1234n,
    oldestUnsentMs: BigInt(now - 90_000),
    spoolDrops: 7n,
    ringDrops: 2n,
    spoolDropFirstMs: BigInt(now - 3_600_000),
    spoolDropLastMs: BigInt(now - 1_800_000),
    spoolDropsByClass: { 1007: 5n, 4001: 2n },
    spoolCorruptRecords: 3n,
  });
  let h: Record<string, unknown> & { drops: Record<string, unknown> } = { drops: {} };
  for (let i = 0; i < 100 && h.spool_depth !== 1234; i++) {
    await new Promise((r) => setTimeout(r, 50));
    h = (await srv.api('GET', `/api/v1/agents/${a.agentId}`)).json.health;
  }
  assert.equal(h.state, 'connected');
  assert.equal(h.channel, 'standby');
  assert.equal(h.reported_channel, 'standby');
  assert.ok(Date.parse(String(h.last_ack_at)) >= now - 10_000, 'last ack recorded');
  assert.equal(h.spool_depth, 1234);
  assert.ok(Math.abs(Number(h.oldest_unsent_age_s) - 90) <= 5, `age ${h.oldest_unsent_age_s}`);
  assert.equal(h.oldest_unsent_at, new Date(now - 90_000).toISOString());
  assert.deepEqual(h.drops, {
    ring: 2,
    spool: 7,
    spool_by_class: { process: 5, network: 2 },
    spool_first_at: new Date(now - 3_600_000).toISOString(),
    spool_last_at: new Date(now - 1_800_000).toISOString(),
    corrupt_records: 3,
    ring_priority: 0,
    suppressed: 0,
  });
  // A heartbeat without the kernel sensor's health says "ok" (buildSensorStats always sets it).
  assert.ok(h.sensor_health === 'ok' || h.sensor_health === null, String(h.sensor_health));
  const list = await srv.api('GET', '/api/v1/agents');
  const row = list.json.agents.find((x: { id: string }) => x.id === a.agentId);
  assert.equal(row.health.spool_depth, 1234);
});

test('agentHealth: nothing reported yet, and a damaged drop-by-class record, give nulls and zeros instead of failing', () => {
  const conn = {
    state: 'disconnected' as const,
    since: null,
    remoteAddress: null,
    channel: null,
    lastAckAt: null,
  };
  const base = { lastSeenAt: null } as unknown as Parameters<typeof agentHealth>[0];
  const empty = agentHealth({ ...base, stats: {} }, conn, 1000);
  assert.equal(empty.oldest_unsent_age_s, null);
  assert.equal(empty.reported_at, null);
  assert.deepEqual(empty.drops.spool_by_class, {});
  const bad = agentHealth(
    { ...base, stats: { spoolDropsByClass: '{not json', oldestUnsentMs: 0, spoolDepth: 0 } },
    conn,
    1000,
  );
  assert.deepEqual(bad.drops.spool_by_class, {});
  assert.equal(bad.oldest_unsent_at, null, 'zero means nothing unsent');
  assert.equal(bad.spool_depth, 0);
});
