// The server refuses a registered agent's credential (revoked): the agent says so clearly, keeps
// its events spooled, retries with backoff, and never re-registers by itself. Heartbeats carry the
// spool and sensor counters to the server. Real server, real TLS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, type Logger } from '@palisade/common';
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

test("a revoked credential: the agent says why (the server's reason), does not spin, keeps events spooled, never re-registers", async (t) => {
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
  await srv.storage.updateAgent(id, { revokedAt: Date.now(), revocationReason: 'laptop stolen' });

  const lines: { level: string; msg: string; obj: object }[] = [];
  const sensor = new TestSensor();
  // Default pacing: a refusal is retried after 15-30 s, doubling to 30 min.
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
  const said = (re: RegExp) => lines.filter((l) => l.level === 'error' && re.test(l.msg));
  const telemetry = await waitFor('the telemetry refusal in the log', () => {
    const l = said(/refused this agent's credential/);
    return l.length ? l : undefined;
  });
  const checkin = await waitFor('the check-in refusal in the log', () => {
    const l = said(/check-in refused/);
    return l.length ? l : undefined;
  });
  for (const l of [telemetry[0]!, checkin[0]!]) {
    const o = l.obj as { reason: string; retryInS: number };
    assert.match(o.reason, /agent credential revoked \(laptop stolen\)/);
    assert.ok(o.retryInS >= 15, `next attempt in ${o.retryInS} s`);
  }
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(said(/refused this agent's credential/).length, 1, 'telemetry does not retry within seconds');
  assert.equal(said(/check-in refused/).length, 1, 'check-in does not retry within seconds');
  assert.equal(agent.channel(), 'disconnected');
  assert.equal(agent.spoolStats().unackedEvents, 50, 'nothing lost');
  assert.equal((await srv.storage.listAgents()).length, 1, 'no second registration');
});

test('a refused credential is retried (with the backoff given), and an open session closed with 4003 counts as refused', async (t) => {
  const srv = await startServer({
    dataDir: tempDir('palisade-cred-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  t.after(() => srv.close());
  const lines: { level: string; msg: string; obj: object }[] = [];
  const agent = await startAgent({
    stateDir: tempDir('palisade-cred-'),
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
    sensors: [],
    logger: memoryLogger(lines),
    refusedBackoff: () => new Backoff({ initialMs: 300, maxMs: 600 }),
  });
  t.after(() => agent.stop());
  await waitFor('connected', () => agent.channel() === 'primary');
  await srv.storage.updateAgent(agent.agentId, { decommissionedAt: Date.now() });
  srv.sessions.get(agent.agentId)?.close(4003, 'agent decommissioned');
  await waitFor(
    'three refusals',
    () => lines.filter((l) => /refused this agent's credential/.test(l.msg)).length >= 3,
  );
  const reasons = lines
    .filter((l) => /refused this agent's credential/.test(l.msg))
    .map((l) => (l.obj as { reason: string }).reason);
  assert.match(reasons[0]!, /closed 4003 agent decommissioned/);
  assert.match(reasons[1]!, /HTTP 401: client certificate refused: agent decommissioned/);
});
