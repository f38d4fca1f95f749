// Integration tests of the agent against the REAL server (@palisade/server): real TLS, real
// WebSocket, real SQLite, real spool files. Loopback only, ephemeral ports, temp dirs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Tier } from '@palisade/protocol';
import { type RunningServer, startServer } from '@palisade/server';
import { type RunningAgent, startAgent } from './agent.js';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from './agent-harness.test-util.js';
import { IdentityError } from './identity/identity-store.js';
import { RegistrationError } from './identity/register.js';
import { TestSensor } from './test-sensor.test-util.js';

async function server(
  dataDir = tempDir('palisade-agent-it-srv-'),
  ports = { reg: 0, tel: 0 },
): Promise<RunningServer> {
  return startServer({
    dataDir,
    registrationPort: ports.reg,
    telemetryPort: ports.tel,
    logLevel: process.env.PALISADE_TEST_LOG ?? 'silent',
    heartbeatFlushMs: 100,
  });
}

function portsOf(s: RunningServer): { reg: number; tel: number } {
  return { reg: Number(new URL(s.registrationUrl).port), tel: Number(new URL(s.telemetryUrl).port) };
}

/** storedLines returns the command lines stored for the agent that contain `marker`. */
async function storedLines(s: RunningServer, agentId: string, marker: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const r = await s.storage.searchEvents({
      agentId,
      contains: marker,
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const e of r.events) out.push(e.event.process?.cmdLine ?? '');
    if (!r.nextCursor) break;
    cursor = r.nextCursor;
  }
  return out;
}

function expectedLines(marker: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${marker}-${i}`).sort();
}

async function agentFor(
  s: RunningServer,
  stateDir: string,
  sensor: TestSensor,
  extra = {},
): Promise<RunningAgent> {
  return startAgent({
    stateDir,
    serverUrl: s.registrationUrl,
    registrationKey: readKey(s.dataDir),
    caPem: s.caPem,
    sensors: [sensor],
    spool: { batchIntervalMs: 50 },
    ackTimeoutMs: 3000,
    ...extra,
  });
}

test('registers once, keeps a private identity, and streams events that arrive exactly once', async (t) => {
  const srv = await server();
  t.after(() => srv.close());
  const stateDir = tempDir('palisade-agent-it-');
  const sensor = new TestSensor();
  const agent = await agentFor(srv, stateDir, sensor);
  t.after(() => agent.stop());
  assert.match(agent.agentId, /.+/);
  assert.equal(statSync(join(stateDir, 'agent.key')).mode & 0o777, 0o600);
  assert.equal(statSync(stateDir).mode & 0o777, 0o700);
  const key = readFileSync(join(stateDir, 'agent.key'), 'utf8');
  assert.match(key, /BEGIN PRIVATE KEY/);
  sensor.emit('it-once', 3000);
  const lines = await waitFor('3000 events stored', async () => {
    const l = await storedLines(srv, agent.agentId, 'it-once');
    return l.length >= 3000 ? l : undefined;
  });
  assert.deepEqual(lines.sort(), expectedLines('it-once', 3000));
  await waitFor('the spool to empty', () => agent.spoolStats().unackedEvents === 0);
  assert.equal(agent.channel(), 'primary');
  const rec = await srv.storage.getAgent(agent.agentId);
  assert.ok(rec, 'the server knows the agent');
  // The private key never went to the server: nothing it stores contains it.
  assert.ok(
    !JSON.stringify(rec, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes(key.slice(40, 80)),
  );
});

test('events survive an agent restart exactly once, and the agent does not register again', async (t) => {
  const srv = await server();
  t.after(() => srv.close());
  const stateDir = tempDir('palisade-agent-it-');
  const sensor = new TestSensor();
  let agent = await agentFor(srv, stateDir, sensor);
  const id = agent.agentId;
  sensor.emit('it-restart', 2000);
  await agent.stop();
  // Restart without a registration key: the identity on disk is enough.
  const sensor2 = new TestSensor();
  agent = await startAgent({ stateDir, sensors: [sensor2], spool: { batchIntervalMs: 50 } });
  t.after(() => agent.stop());
  assert.equal(agent.agentId, id);
  sensor2.emit('it-restart', 1000, 2000);
  const lines = await waitFor('3000 events stored', async () => {
    const l = await storedLines(srv, id, 'it-restart');
    return l.length >= 3000 ? l : undefined;
  });
  await waitFor('the spool to empty', () => agent.spoolStats().unackedEvents === 0);
  assert.deepEqual((await storedLines(srv, id, 'it-restart')).sort(), expectedLines('it-restart', 3000));
  assert.equal(lines.length, 3000);
  assert.equal((await srv.storage.listAgents()).length, 1);
});

test('while the server is down events are spooled; after it restarts they arrive exactly once', async (t) => {
  let srv = await server();
  const dataDir = srv.dataDir;
  const ports = portsOf(srv);
  const stateDir = tempDir('palisade-agent-it-');
  const sensor = new TestSensor();
  const agent = await agentFor(srv, stateDir, sensor);
  t.after(() => agent.stop());
  sensor.emit('it-outage', 500);
  await waitFor(
    'first events acked',
    () => agent.spoolStats().unackedEvents === 0 && agent.spoolStats().pendingEvents === 0,
  );
  await srv.close();
  sensor.emit('it-outage', 1500, 500);
  await waitFor('events spooled while the server is down', () => agent.spoolStats().unackedEvents === 1500);
  assert.equal(agent.channel(), 'disconnected');
  await new Promise((r) => setTimeout(r, 1500)); // a few reconnect attempts fail meanwhile
  srv = await server(dataDir, ports);
  t.after(() => srv.close());
  await waitFor('the spool to empty after the restart', () => agent.spoolStats().unackedEvents === 0, 40_000);
  const lines = await storedLines(srv, agent.agentId, 'it-outage');
  assert.deepEqual(lines.sort(), expectedLines('it-outage', 2000));
});

test('the server policy sets the tier on the sensors without a restart; a local override wins', async (t) => {
  const srv = await server();
  t.after(() => srv.close());
  const [group] = await srv.storage.listGroups();
  assert.ok(group);
  const revision = group.policy.revision + 1;
  await srv.storage.updateGroup(group.id, { policy: { ...group.policy, tier: 'server', revision } });
  const sensor = new TestSensor();
  const stateDir = tempDir('palisade-agent-it-');
  const agent = await agentFor(srv, stateDir, sensor);
  t.after(() => agent.stop());
  await waitFor('the policy from check-in', () => agent.policyRevision() === BigInt(revision));
  assert.equal(agent.tier(), Tier.SERVER);
  assert.equal(sensor.tiers.at(-1), Tier.SERVER);
  agent.setTierOverride('workstation');
  assert.equal(sensor.tiers.at(-1), Tier.WORKSTATION);
  agent.setTierOverride(undefined);
  assert.equal(sensor.tiers.at(-1), Tier.SERVER);
  assert.equal(sensor.started, 1, 'tier changes never restart the sensor');
  // Restarted while the server is down, the agent runs the last policy it applied.
  await agent.stop();
  await srv.close();
  const sensor2 = new TestSensor();
  const again = await startAgent({ stateDir, sensors: [sensor2] });
  t.after(() => again.stop());
  assert.equal(again.policyRevision(), BigInt(revision));
  assert.ok(sensor2.tiers.length > 0);
  assert.ok(
    sensor2.tiers.every((x) => x === Tier.SERVER),
    'the sensor is never told another tier',
  );
});

test('a bad registration key is a clear fatal error and leaves no identity behind', async (t) => {
  const srv = await server();
  t.after(() => srv.close());
  const stateDir = tempDir('palisade-agent-it-');
  await assert.rejects(
    startAgent({
      stateDir,
      serverUrl: srv.registrationUrl,
      registrationKey: 'prk_wrong',
      caPem: srv.caPem,
      sensors: [],
    }),
    (err: unknown) =>
      err instanceof RegistrationError &&
      err.code === 'invalid_registration_key' &&
      /registration refused \(invalid_registration_key\)/.test(err.message),
  );
  assert.equal(existsSync(join(stateDir, 'identity.json')), false);
  assert.equal((await srv.storage.listAgents()).length, 0);
});

test('a tampered identity is a clear error naming the file, not a silent re-registration', async (t) => {
  const srv = await server();
  t.after(() => srv.close());
  const stateDir = tempDir('palisade-agent-it-');
  const agent = await agentFor(srv, stateDir, new TestSensor());
  await agent.stop();
  const other = tempDir('palisade-agent-it-');
  const agent2 = await agentFor(srv, other, new TestSensor());
  await agent2.stop();
  // Swap in another agent's certificate: it does not match this agent's private key.
  writeFileSync(join(stateDir, 'agent.crt'), readFileSync(join(other, 'agent.crt')));
  await assert.rejects(
    startAgent({ stateDir, sensors: [] }),
    (err: unknown) =>
      err instanceof IdentityError && /agent\.crt does not belong to the private key/.test(err.message),
  );
  writeFileSync(join(stateDir, 'identity.json'), '{"agentId": ');
  await assert.rejects(startAgent({ stateDir, sensors: [] }), /identity\.json is not valid JSON/);
  assert.equal((await srv.storage.listAgents()).length, 2);
});

test('driverless mode: no kernel sensor, and the capability report says why', async (t) => {
  const srv = await server();
  t.after(() => srv.close());
  const agent = await startAgent({
    stateDir: tempDir('palisade-agent-it-'),
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
    kernelSensor: false,
  });
  t.after(() => agent.stop());
  const caps = await waitFor('the capability report', async () => {
    const a = await srv.storage.getAgent(agent.agentId);
    return a?.capabilities?.length ? a.capabilities : undefined;
  });
  const byKind = new Map(caps.map((c) => [String(c.kind), c]));
  assert.equal(byKind.get('process')?.active, false);
  assert.match(byKind.get('process')?.reason ?? '', /turned off by configuration/);
  assert.equal(byKind.get('auth')?.active, true);
});

test('server unreachable at first registration: the agent retries with backoff and enrols when it appears', async (t) => {
  // Create the server's CA first, then stop it: the agent trusts that CA while the server is down.
  const first = await server();
  const dataDir = first.dataDir;
  const caPem = first.caPem;
  await first.close();
  const port = await new Promise<number>((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const a = probe.address();
      probe.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
  const sensor = new TestSensor();
  const starting = startAgent({
    stateDir: tempDir('palisade-agent-it-'),
    serverUrl: `https://127.0.0.1:${port}`,
    registrationKey: readKey(dataDir),
    caPem,
    sensors: [sensor],
    spool: { batchIntervalMs: 50 },
  });
  await new Promise((r) => setTimeout(r, 1500));
  const srv = await server(dataDir, { reg: port, tel: 0 });
  t.after(() => srv.close());
  const agent = await starting;
  t.after(() => agent.stop());
  sensor.emit('late', 10);
  const lines = await waitFor('the events', async () => {
    const l = await storedLines(srv, agent.agentId, 'late');
    return l.length >= 10 ? l : undefined;
  });
  assert.equal(lines.length, 10);
});

test('a policy change made through the admin API reaches the connected agent within 5 s, no restart', async (t) => {
  const srv = await server();
  t.after(() => srv.close());
  const sensor = new TestSensor();
  const agent = await agentFor(srv, tempDir('palisade-agent-it-'), sensor);
  t.after(() => agent.stop());
  await waitFor('the session', () => agent.channel() === 'primary');
  const [group] = await srv.storage.listGroups();
  assert.ok(group);
  const next = group.policy.tier === 'server' ? 'workstation' : 'server';
  const token = readFileSync(join(srv.dataDir, 'admin-token'), 'utf8').trim();
  const t0 = Date.now();
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(
      `${srv.registrationUrl}/api/v1/groups/${group.id}/policy`,
      {
        method: 'PATCH',
        ca: srv.caPem,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ tier: next }));
  });
  assert.equal(status, 200);
  const want = next === 'server' ? Tier.SERVER : Tier.WORKSTATION;
  await waitFor('the pushed policy', () => agent.tier() === want, 5000);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(sensor.tiers.at(-1), want);
  assert.equal(agent.policyRevision(), BigInt(group.policy.revision + 1));
  assert.equal(sensor.started, 1);
});
