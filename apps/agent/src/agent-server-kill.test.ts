// kill -9 of a real server process mid-ingest (the agent keeps streaming): after the server is
// restarted on the same data directory and ports, the agent catches up and every event is
// stored exactly once.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from './agent.js';
import { freePort, tempDir, waitFor } from '@palisade/testkit';
import { countStored, serverProcess } from './server-process.test-util.js';
import { TestSensor } from './test-sensor.test-util.js';

test('kill -9 of the server mid-ingest: after its restart every event is stored exactly once', async (t) => {
  const dataDir = tempDir('palisade-srvkill-');
  const [reg, tel] = [await freePort(), await freePort()];
  let srv = serverProcess([
    '--data-dir',
    dataDir,
    '--registration-port',
    String(reg),
    '--telemetry-port',
    String(tel),
  ]);
  t.after(() => srv.kill('SIGKILL'));
  await waitFor(
    'the server to write its CA and key',
    () => existsSync(join(dataDir, 'registration-key')),
    30_000,
  );
  const caPem = await waitFor('the CA', () => {
    const f = join(dataDir, 'tls', 'ca.pem');
    return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
  });
  const sensor = new TestSensor();
  const agent = await waitFor(
    'registration',
    () =>
      startAgent({
        stateDir: tempDir('palisade-srvkill-agent-'),
        serverUrl: `https://127.0.0.1:${reg}`,
        registrationKey: readFileSync(join(dataDir, 'registration-key'), 'utf8').trim(),
        caPem,
        sensors: [sensor],
        spool: { batchIntervalMs: 20, batchMaxEvents: 500 },
        ackTimeoutMs: 3000,
      }),
    30_000,
  );
  t.after(() => agent.stop());
  const total = 50_000;
  const allEmitted = sensor.emitPaced(t, 'srvkill', total, 500);
  await waitFor('a third acked', () => agent.spoolStats().ackedSeq >= total / 500 / 3, 60_000);
  srv.kill('SIGKILL');
  await new Promise((r) => srv.once('exit', r));
  const ackedAtKill = agent.spoolStats().ackedSeq;
  srv = serverProcess([
    '--data-dir',
    dataDir,
    '--registration-port',
    String(reg),
    '--telemetry-port',
    String(tel),
  ]);
  await waitFor(
    'everything emitted and acked',
    () => allEmitted() && agent.spoolStats().unackedEvents === 0 && agent.spoolStats().pendingEvents === 0,
    90_000,
  );
  await agent.stop();
  srv.kill('SIGTERM');
  await new Promise((r) => srv.once('exit', r));
  const seen = await countStored(dataDir, agent.agentId);
  assert.ok(ackedAtKill > 0);
  assert.equal(seen.size, total, 'every event stored');
  assert.deepEqual(
    [...seen].filter(([, c]) => c !== 1),
    [],
    'none stored twice',
  );
});
