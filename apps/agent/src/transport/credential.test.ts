// The server refuses a registered agent's credential (revoked): the agent says so clearly, keeps
// its events spooled, retries with backoff, and never re-registers by itself. Heartbeats carry the
// spool and sensor counters to the server. Real server, real TLS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '@palisade/common';
import { startServer } from '@palisade/server';
import { startAgent } from '../agent.js';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from '../agent-harness.test-util.js';
import { TestSensor } from '../test-sensor.test-util.js';

/** memoryLogger keeps every log line so a test can read what the agent said. */
function memoryLogger(lines: { level: string; msg: string; obj: object }[]): Logger {
  const make = (bindings: object): Logger => {
    const at =
      (level: string) =>
      (obj: object, msg = '') =>
        lines.push({ level, msg, obj: { ...bindings, ...obj } });
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make({});
}

test('heartbeats report sensor and spool counters to the server', async (t) => {
  const srv = await startServer({
    dataDir: tempDir('palisade-cred-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
    heartbeatIntervalS: 1,
    heartbeatFlushMs: 100,
  });
  t.after(() => srv.close());
  const sensor = new TestSensor();
  const agent = await startAgent({
    stateDir: tempDir('palisade-cred-'),
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
    sensors: [sensor],
    spool: { batchIntervalMs: 20 },
  });
  t.after(() => agent.stop());
  sensor.emit('hb', 123);
  await waitFor(
    'acks',
    () => agent.spoolStats().unackedEvents === 0 && agent.spoolStats().pendingEvents === 0,
  );
  const stats = await waitFor(
    'a heartbeat with the counters',
    async () => {
      const a = await srv.storage.getAgent(agent.agentId);
      return a?.stats.eventsEmitted === 123 && a.stats.spoolDepth === 0 ? a.stats : undefined;
    },
    10_000,
  );
  assert.equal(stats.spoolDrops, 0);
  assert.equal(stats.sensorRestarts, 0);
});

test('a refused credential is logged as such, retried with backoff, events stay spooled, no re-registration', async (t) => {
  const srv = await startServer({
    dataDir: tempDir('palisade-cred-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  t.after(() => srv.close());
  const stateDir = tempDir('palisade-cred-');
  let agent = await startAgent({
    stateDir,
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
    sensors: [],
  });
  const id = agent.agentId;
  await agent.stop();
  await srv.storage.updateAgent(id, { revokedAt: Date.now() });

  const lines: { level: string; msg: string; obj: object }[] = [];
  const sensor = new TestSensor();
  agent = await startAgent({
    stateDir,
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
    sensors: [sensor],
    logger: memoryLogger(lines),
    spool: { batchIntervalMs: 20 },
  });
  t.after(() => agent.stop());
  assert.equal(agent.agentId, id);
  sensor.emit('refused', 50);
  await waitFor('the telemetry refusal in the log', () =>
    lines.some((l) => l.level === 'error' && /refused this agent's credential/.test(l.msg)),
  );
  assert.ok(lines.some((l) => l.level === 'error' && /check-in refused/.test(l.msg)));
  await new Promise((r) => setTimeout(r, 1500));
  const refusals = lines.filter((l) => /refused this agent's credential/.test(l.msg)).length;
  assert.ok(refusals >= 2, `retried (${refusals} attempts)`);
  assert.ok(refusals < 20, `with backoff, not in a tight loop (${refusals} attempts)`);
  assert.equal(agent.channel(), 'disconnected');
  assert.equal(agent.spoolStats().unackedEvents, 50, 'nothing lost');
  assert.equal((await srv.storage.listAgents()).length, 1, 'no second registration');
});
