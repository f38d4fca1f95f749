// The standby sink: a second telemetry listener on the same storage, in the server process or as a
// standby-only server on the primary's data directory. Real TLS, real SQLite, simulated agents.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SimulatedAgent, makeProcessEvent } from '@palisade/testkit';
import { parseServerArgs } from '../main.js';
import { startStandbyServer } from '../standby-server.js';
import { type TestServer, startTestServer } from '../testing/harness.js';
import { defaultStandbyPort } from './listener-options.js';

const events = (n: number, from: number, marker: string) =>
  Array.from({ length: n }, (_, i) => makeProcessEvent(from + i, { marker }));

describe('standby telemetry listener', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());
  const register = () =>
    SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });

  test('registration and check-in return the primary and the standby endpoint', async () => {
    const a = await register();
    assert.notEqual(t.server.standbyUrl, '');
    assert.notEqual(t.server.standbyUrl, t.server.telemetryUrl);
    assert.equal(a.identity.endpoints?.telemetryStandbyUrl, t.server.standbyUrl);
    const res = await a.checkIn();
    assert.equal(res.endpoints?.telemetryPrimaryUrl, t.server.telemetryUrl);
    assert.equal(res.endpoints?.telemetryStandbyUrl, t.server.standbyUrl);
  });

  test('an agent on the standby is shown on channel standby; batches it stored there are duplicates on the primary', async () => {
    const a = await register();
    await a.connect({ url: t.server.standbyUrl });
    const got = await t.api('GET', `/api/v1/agents/${a.agentId}`);
    assert.equal(got.status, 200);
    assert.equal(got.json.connection.state, 'connected');
    assert.equal(got.json.connection.channel, 'standby');
    const ack = await a.sendBatch(events(10, 0, 'standby-1'), 1n);
    assert.equal(ack.duplicate, false);
    await a.close();
    // Fail back: the primary knows the seq the standby stored.
    const welcome = await a.connect();
    assert.equal(welcome.lastStoredSeq, 1n);
    assert.equal((await a.sendBatch(events(10, 0, 'standby-1'), 1n)).duplicate, true);
    assert.equal((await a.sendBatch(events(10, 10, 'standby-1'), 2n)).duplicate, false);
    const primary = await t.api('GET', `/api/v1/agents/${a.agentId}`);
    assert.equal(primary.json.connection.channel, 'primary');
    const stored = await t.api('GET', `/api/v1/events?agent_id=${a.agentId}&limit=100`);
    assert.equal(stored.json.events.length, 20, 'each event once');
    await a.close();
  });
});

test('standby-only server on the primary data directory: agents stream to it, the primary sees the rows', async (t) => {
  const primary = await startTestServer();
  t.after(() => primary.stop());
  const standby = await startStandbyServer({
    dataDir: primary.dataDir,
    standbyPort: 0,
    logLevel: 'silent',
    heartbeatFlushMs: 100,
  });
  t.after(() => standby.close());
  const a = await SimulatedAgent.register({
    registrationUrl: primary.server.registrationUrl,
    registrationKey: primary.registrationKey,
    caPem: primary.server.caPem,
  });
  t.after(() => a.close());
  await a.connect({ url: standby.standbyUrl });
  assert.equal(standby.sessions.get(a.agentId)?.channel, 'standby');
  for (let s = 1n; s <= 5n; s++)
    assert.equal((await a.sendBatch(events(100, Number(s) * 100, 'so'), s)).duplicate, false);
  const stored = await primary.api('GET', `/api/v1/events?agent_id=${a.agentId}&limit=1000`);
  assert.equal(stored.json.events.length, 500);
  // The primary has no session for it, but learns the channel and spool figures through storage.
  a.sendHeartbeat({ spoolDepth: 42n });
  let h: { reported_channel?: string; spool_depth?: number; state?: string } = {};
  for (let i = 0; i < 100 && h.spool_depth !== 42; i++) {
    await new Promise((r) => setTimeout(r, 50));
    h = (await primary.api('GET', `/api/v1/agents/${a.agentId}`)).json.health;
  }
  assert.equal(h.spool_depth, 42);
  assert.equal(h.reported_channel, 'standby');
  assert.equal(h.state, 'disconnected', 'not connected to the primary process');
});

test('standby-only refuses a data directory no primary has initialised, naming the missing file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-standby-empty-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    startStandbyServer({ dataDir: dir, standbyPort: 0, logLevel: 'silent' }),
    /ca\.pem is missing/,
  );
});

test('standby flags: --standby-only, --standby-port, --standby-url; default port 7445 only beside the default primary port', () => {
  const o = parseServerArgs([
    '--standby-only',
    '--standby-port',
    '9445',
    '--standby-url',
    'wss://b:1/v1/telemetry',
  ]);
  assert.equal(o.standbyOnly, true);
  assert.equal(o.standbyPort, 9445);
  assert.equal(o.standbyUrl, 'wss://b:1/v1/telemetry');
  assert.throws(() => parseServerArgs(['--standby-port', 'x']), /standby-port/);
  assert.equal(defaultStandbyPort({}), 7445);
  assert.equal(defaultStandbyPort({ telemetryPort: 0 }), 0);
  assert.equal(defaultStandbyPort({ telemetryPort: 0, standbyPort: 8000 }), 8000);
});
