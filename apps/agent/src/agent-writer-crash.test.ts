// Ingest cannot fail silently: the server's storage writer thread is killed for real (terminated,
// as a crash would end it) several times while three agents stream. The writer is restarted,
// health says 503 while it is down, the batches it had taken were not acked so the agents send
// them again, and in the end every event is stored exactly once.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '@palisade/server';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from './agent-harness.test-util.js';
import { countByCommandLine } from './server-process.test-util.js';
import { type RunningAgent, startAgent } from './agent.js';
import { TestSensor } from './test-sensor.test-util.js';

async function health(
  url: string,
  caPem: string,
): Promise<{ status: number; json: Record<string, unknown> & { ingest: Record<string, unknown> } }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/v1/health`, { ca: caPem, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('the storage writer thread killed mid-ingest: restarted, 503 meanwhile, every event stored once', async (t) => {
  const dataDir = tempDir('palisade-writer-crash-');
  // A slow first restart, so that health can be seen failing; later ones come back at once.
  const storage = await openSqliteStorage({
    path: join(dataDir, 'palisade.db'),
    writerRestartBackoff: { initialMs: 3000, maxMs: 3000 },
  });
  const srv = await startServer({
    dataDir,
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
    storage,
  });
  t.after(async () => {
    await srv.close();
    await storage.close();
  });
  assert.equal((await health(srv.registrationUrl, srv.caPem)).status, 200);
  const agents: { agent: RunningAgent; sensor: TestSensor; done: () => boolean }[] = [];
  const total = 12_000;
  for (let i = 0; i < 3; i++) {
    const sensor = new TestSensor();
    const agent = await startAgent({
      stateDir: tempDir(`palisade-writer-crash-agent${i}-`),
      serverUrl: srv.registrationUrl,
      registrationKey: readKey(dataDir),
      caPem: srv.caPem,
      sensors: [sensor],
      spool: { batchIntervalMs: 20, batchMaxEvents: 200 },
    });
    t.after(() => agent.stop());
    await waitFor('the session', () => agent.channel() === 'primary');
    // 2,000 events/s each: the emission lasts about 6 s, across the kills below.
    agents.push({ agent, sensor, done: sensor.emitPaced(t, `crash${i}`, total, 20) });
  }
  await waitFor('some batches stored', () => agents.every((a) => a.agent.spoolStats().ackedSeq >= 5), 30_000);
  await storage.killWriterForTesting();
  const down = await health(srv.registrationUrl, srv.caPem);
  assert.equal(down.status, 503, JSON.stringify(down.json));
  assert.equal(down.json.status, 'failing');
  assert.equal(down.json.ingest.writer, 'restarting');
  assert.match(String(down.json.ingest.last_error), /exited/);
  await waitFor(
    'the writer back',
    async () => (await health(srv.registrationUrl, srv.caPem)).status === 200,
    20_000,
  );
  // Twice more while they stream, each time right after the writer came back.
  for (let k = 0; k < 2; k++) {
    const acked = agents.map((a) => a.agent.spoolStats().ackedSeq);
    // Progress since the last kill, or (on a fast run) everything emitted and stored already.
    await waitFor(
      'more batches stored',
      () =>
        agents.every((a, i) => a.agent.spoolStats().ackedSeq > acked[i]! + 2) ||
        agents.every((a) => a.done() && a.agent.spoolStats().unackedEvents === 0),
      30_000,
    );
    await storage.killWriterForTesting();
    await waitFor('the writer back', () => storage.health().writer === 'running', 20_000);
  }
  await waitFor(
    'everything emitted and acked',
    () =>
      agents.every(
        (a) =>
          a.done() && a.agent.spoolStats().unackedEvents === 0 && a.agent.spoolStats().pendingEvents === 0,
      ),
    120_000,
  );
  const ok = await health(srv.registrationUrl, srv.caPem);
  assert.equal(ok.status, 200);
  assert.equal(ok.json.ingest.writer_restarts, 3);
  assert.ok(Number(ok.json.ingest.last_commit_age_ms) >= 0);
  for (const [i, { agent }] of agents.entries()) {
    const seen = await countByCommandLine(storage, agent.agentId);
    assert.equal(seen.size, total, `agent ${i}: every event stored`);
    assert.deepEqual(
      [...seen].filter(([, c]) => c !== 1),
      [],
      `agent ${i}: none stored twice`,
    );
    assert.equal(await storage.countEvents(agent.agentId), total);
  }
});
