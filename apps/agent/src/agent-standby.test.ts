// Chaos test (c) with the real standby sink: the primary server and a standby-only server run as
// their own processes on the same data directory (the embedded SQLite store is one file on this
// host). The primary process is stopped mid-stream: the agent moves to the standby within 10 s and
// keeps delivering; the primary comes back: the agent fails back. Every event is stored once.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from './agent.js';
import { freePort, tempDir, waitFor } from '@palisade/testkit';
import { countStored, serverProcess, stopProcess } from './server-process.test-util.js';
import { TestSensor } from './test-sensor.test-util.js';

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`primary process stopped (${signal}): agent on the standby process within 10 s, fails back when it returns; nothing lost or doubled`, async (t) => {
    const dataDir = tempDir('palisade-standby-');
    const [reg, tel, sb] = [await freePort(), await freePort(), await freePort()];
    const standbyUrl = `wss://127.0.0.1:${sb}/v1/telemetry`;
    const primaryFlags = [
      '--data-dir',
      dataDir,
      '--registration-port',
      String(reg),
      '--telemetry-port',
      String(tel),
      '--standby-url',
      standbyUrl,
    ];
    let primary = serverProcess(primaryFlags);
    t.after(() => stopProcess(primary, 'SIGKILL'));
    await waitFor('the primary to initialise', () => existsSync(join(dataDir, 'registration-key')), 30_000);
    const standby = serverProcess(['--standby-only', '--data-dir', dataDir, '--standby-port', String(sb)]);
    t.after(() => stopProcess(standby, 'SIGKILL'));
    const caPem = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
    const sensor = new TestSensor();
    const agent = await waitFor(
      'registration',
      () =>
        startAgent({
          stateDir: tempDir('palisade-standby-agent-'),
          serverUrl: `https://127.0.0.1:${reg}`,
          registrationKey: readFileSync(join(dataDir, 'registration-key'), 'utf8').trim(),
          caPem,
          sensors: [sensor],
          spool: { batchIntervalMs: 20, batchMaxEvents: 500 },
          ackTimeoutMs: 3000,
          connectTimeoutMs: 3000,
          failbackProbeMs: 500,
        }),
      30_000,
    );
    t.after(() => agent.stop());
    const total = 30_000;
    const allEmitted = sensor.emitPaced(t, 'sb', total, 100);
    await waitFor(
      'streaming on the primary',
      () => agent.channel() === 'primary' && agent.spoolStats().ackedSeq >= 10,
      30_000,
    );

    const t0 = Date.now();
    await stopProcess(primary, signal);
    await waitFor('the agent on the standby', () => agent.channel() === 'standby', 10_000);
    const failoverMs = Date.now() - t0;
    t.diagnostic(`failover to the standby took ${failoverMs} ms`);
    const ackedAtFailover = agent.spoolStats().ackedSeq;
    await waitFor('acks from the standby', () => agent.spoolStats().ackedSeq >= ackedAtFailover + 10, 20_000);
    assert.equal(agent.channel(), 'standby');

    primary = serverProcess(primaryFlags);
    await waitFor('fail back to the primary', () => agent.channel() === 'primary', 30_000);
    await waitFor(
      'everything emitted and acked',
      () => allEmitted() && agent.spoolStats().unackedEvents === 0 && agent.spoolStats().pendingEvents === 0,
      90_000,
    );
    await agent.stop();
    await stopProcess(primary, 'SIGTERM');
    await stopProcess(standby, 'SIGTERM');
    const seen = await countStored(dataDir, agent.agentId);
    assert.ok(failoverMs < 10_000, `failover took ${failoverMs} ms`);
    assert.equal(seen.size, total, 'every event stored');
    assert.deepEqual(
      [...seen].filter(([, c]) => c !== 1),
      [],
      'none stored twice',
    );
  });
}
