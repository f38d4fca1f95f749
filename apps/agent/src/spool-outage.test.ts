// Spool under a long outage, against the real server: a small cap drops the oldest batches and
// the drop report is exact and reaches the server; a corrupted segment is detected and reported
// and everything else is delivered.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '@palisade/server';
import { startAgent } from './agent.js';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from './agent-harness.test-util.js';
import { TestSensor } from './test-sensor.test-util.js';

async function storedLines(
  srv: Awaited<ReturnType<typeof startServer>>,
  agentId: string,
  marker: string,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const r = await srv.storage.searchEvents({
      agentId,
      contains: marker,
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const e of r.events) {
      const l = e.event.process?.cmdLine ?? '';
      out.set(l, (out.get(l) ?? 0) + 1);
    }
    if (!r.nextCursor) break;
    cursor = r.nextCursor;
  }
  return out;
}

test('a long outage with a small spool cap drops the oldest events and reports exactly how many', async (t) => {
  const dataDir = tempDir('palisade-outage-srv-');
  let srv = await startServer({
    dataDir,
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
    heartbeatIntervalS: 1,
  });
  const ports = {
    reg: Number(new URL(srv.registrationUrl).port),
    tel: Number(new URL(srv.telemetryUrl).port),
  };
  const sensor = new TestSensor();
  const agent = await startAgent({
    stateDir: tempDir('palisade-outage-'),
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(dataDir),
    caPem: srv.caPem,
    sensors: [sensor],
    spool: { batchMaxEvents: 100, segmentBytes: 8 * 1024, maxBytes: 32 * 1024 },
  });
  t.after(() => agent.stop());
  await waitFor('the session', () => agent.channel() === 'primary');
  await srv.close();
  const total = 20_000;
  for (let i = 0; i < total; i += 1000) sensor.emit('outage', 1000, i);
  agent.flush();
  const s = agent.spoolStats();
  assert.ok(s.drops.events > 0, 'the cap was hit');
  assert.ok(s.bytes <= 32 * 1024, `spool holds ${s.bytes} bytes`);
  assert.equal(
    s.drops.events + s.unackedEvents,
    total,
    'every event is either spooled or counted as dropped',
  );
  assert.deepEqual(s.drops.byClass, { 1007: s.drops.events });

  srv = await startServer({
    dataDir,
    registrationPort: ports.reg,
    telemetryPort: ports.tel,
    logLevel: 'silent',
    heartbeatIntervalS: 1,
    heartbeatFlushMs: 100,
  });
  t.after(() => srv.close());
  await waitFor('the spool to drain', () => agent.spoolStats().unackedEvents === 0, 30_000);
  const lines = await storedLines(srv, agent.agentId, 'outage');
  assert.equal(lines.size, total - s.drops.events);
  assert.deepEqual(
    [...lines.values()].filter((n) => n !== 1),
    [],
    'nothing stored twice',
  );
  // The oldest were dropped: what arrived is exactly the newest events.
  for (let i = s.drops.events; i < total; i++) assert.ok(lines.has(`outage-${i}`), `outage-${i} missing`);
  const reported = await waitFor('the drop count at the server', async () => {
    const a = await srv.storage.getAgent(agent.agentId);
    return a?.stats.spoolDrops === s.drops.events ? a.stats.spoolDrops : undefined;
  });
  assert.equal(reported, s.drops.events);
});

test('a corrupted spool segment is detected and reported; every intact batch is delivered', async (t) => {
  const dataDir = tempDir('palisade-outage-srv-');
  let srv = await startServer({ dataDir, registrationPort: 0, telemetryPort: 0, logLevel: 'silent' });
  const ports = {
    reg: Number(new URL(srv.registrationUrl).port),
    tel: Number(new URL(srv.telemetryUrl).port),
  };
  const stateDir = tempDir('palisade-outage-');
  const sensor = new TestSensor();
  let agent = await startAgent({
    stateDir,
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(dataDir),
    caPem: srv.caPem,
    sensors: [sensor],
    spool: { batchMaxEvents: 100 },
  });
  await waitFor('the session', () => agent.channel() === 'primary');
  await srv.close();
  sensor.emit('corrupt', 1000);
  await agent.stop();
  // Damage one byte in the middle of the segment holding the ten batches.
  const spoolDir = join(stateDir, 'spool');
  const seg = readdirSync(spoolDir).find(
    (n) => n.startsWith('seg-') && readFileSync(join(spoolDir, n)).byteLength > 0,
  );
  assert.ok(seg);
  const buf = readFileSync(join(spoolDir, seg));
  const at = Math.floor(buf.byteLength / 2);
  buf[at] = buf[at]! ^ 0x5a;
  writeFileSync(join(spoolDir, seg), buf);

  srv = await startServer({
    dataDir,
    registrationPort: ports.reg,
    telemetryPort: ports.tel,
    logLevel: 'silent',
  });
  t.after(() => srv.close());
  agent = await startAgent({ stateDir, sensors: [] });
  t.after(() => agent.stop());
  assert.equal(agent.spoolStats().corruptRecords, 1);
  await waitFor('the intact batches to be delivered', () => agent.spoolStats().unackedEvents === 0, 30_000);
  const lines = await storedLines(srv, agent.agentId, 'corrupt');
  assert.equal(lines.size, 900, 'the nine intact batches of 100 arrived');
  assert.deepEqual(
    [...lines.values()].filter((n) => n !== 1),
    [],
  );
});
