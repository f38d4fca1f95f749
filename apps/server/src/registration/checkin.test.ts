import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type HostFacts, Tier } from '@palisade/protocol';
import {
  type AgentIdentity,
  RegistrationRefused,
  SimulatedAgent,
  checkIn,
  httpsRequest,
  simulatedHost,
} from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';
import { createCa, importCaKey, issueClientCertificate } from '../tls/pki.js';

/** forgeIdentity certifies a fresh key for an existing agent id with the given CA. */
async function forgeIdentity(
  base: AgentIdentity,
  caCertPem: string,
  caKeyPem: string,
): Promise<AgentIdentity> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ca = { certPem: caCertPem, key: await importCaKey(caKeyPem) };
  const cert = await issueClientCertificate(ca, base.agentId, spki, Date.now());
  return {
    ...base,
    certPem: cert.certPem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

async function refusedWith(p: Promise<unknown>, status: number, code: string): Promise<void> {
  const err = await p.then(
    () => assert.fail('check-in should have been refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RegistrationRefused, String(err));
  assert.equal(err.status, status);
  assert.equal(err.code, code);
}

describe('POST /v1/checkin (mutual TLS)', () => {
  let t: TestServer;
  let agent: SimulatedAgent;
  before(async () => {
    t = await startTestServer();
    agent = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
  });
  after(() => t.stop());

  test('with its certificate: policy, endpoints, heartbeat; host facts, capabilities and stats recorded', async () => {
    const res = await agent.checkIn({
      policyRevision: 1n,
      host: {
        ...(await t.server.storage.getAgent(agent.agentId))!.host,
        $typeName: 'palisade.v1.HostFacts',
        kernel: '6.18.0',
      },
      capabilities: [
        { $typeName: 'palisade.v1.Capability', kind: 1, active: true, source: 'ebpf', reason: '' },
      ],
      stats: { eventsEmitted: 42n, spoolDepth: 3n } as never,
    });
    assert.equal(res.agentId, agent.agentId);
    assert.equal(res.policy?.tier, Tier.SERVER);
    assert.equal(res.policy?.revision, 1n);
    assert.equal(res.endpoints?.telemetryPrimaryUrl, t.server.telemetryUrl);
    assert.ok(res.heartbeatIntervalS > 0);
    const stored = (await t.server.storage.getAgent(agent.agentId))!;
    assert.equal(stored.host.kernel, '6.18.0');
    assert.deepEqual(stored.capabilities, [{ kind: 'process', active: true, source: 'ebpf', reason: '' }]);
    assert.equal(stored.stats.eventsEmitted, 42);
    assert.equal(stored.policyRevision, 1);
    assert.ok(stored.lastSeenAt !== null);
  });

  test('without a client certificate → 401 invalid_credentials', async () => {
    const r = await httpsRequest(`${t.server.registrationUrl}/v1/checkin`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([8, 1]),
      ca: t.server.caPem,
    });
    assert.equal(r.status, 401);
    assert.equal(JSON.parse(r.body.toString()).error.code, 'invalid_credentials');
  });

  test('a certificate for the same agent id from another CA → 401', async () => {
    const other = await createCa(Date.now(), 'Evil CA');
    const forged = await forgeIdentity(agent.identity, other.certPem, other.keyPem);
    await refusedWith(checkIn(forged), 401, 'invalid_credentials');
  });

  test('a second certificate from the right CA that is not the one issued to the agent → 401', async () => {
    const dir = join(t.dataDir, 'tls');
    const forged = await forgeIdentity(
      agent.identity,
      readFileSync(join(dir, 'ca.pem'), 'utf8'),
      readFileSync(join(dir, 'ca-key.pem'), 'utf8'),
    );
    await refusedWith(checkIn(forged), 401, 'invalid_credentials');
  });

  test('a revoked agent → 401', async () => {
    const b = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
    await b.checkIn();
    await t.server.storage.updateAgent(b.agentId, { revokedAt: Date.now() });
    await refusedWith(b.checkIn(), 401, 'invalid_credentials');
  });

  test('a change of host facts at check-in is written to the audit log by the agent, before and after', async () => {
    const c = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
      host: { hostname: 'web-1', machineId: 'a'.repeat(32), kernel: '6.1.0-sim' },
    });
    const host = (over: Partial<Omit<HostFacts, '$typeName'>>) =>
      simulatedHost({ hostname: 'web-1', machineId: 'a'.repeat(32), kernel: '6.1.0-sim', ...over });
    const entries = async () =>
      (await t.api('GET', `/api/v1/audit?action=agent.host_changed&target=${c.agentId}`)).json.entries;
    // The same facts again: nothing to record.
    await c.checkIn({ host: host({}) });
    assert.deepEqual(await entries(), []);
    // Moved to another machine under another name, with a new kernel.
    await c.checkIn({ host: host({ hostname: 'db-7', machineId: 'b'.repeat(32), kernel: '6.12.0' }) });
    const [e] = await entries();
    assert.equal(e.actor.name, `agent:${c.agentId}`);
    assert.equal(e.actor.id, c.agentId);
    assert.deepEqual(e.target, { type: 'agent', id: c.agentId });
    assert.match(e.remote_address, /127\.0\.0\.1/);
    assert.deepEqual(e.details.changed.sort(), ['hostname', 'kernel', 'machine_id']);
    assert.deepEqual(e.details.before, {
      hostname: 'web-1',
      machine_id: 'a'.repeat(32),
      kernel: '6.1.0-sim',
    });
    assert.deepEqual(e.details.after, { hostname: 'db-7', machine_id: 'b'.repeat(32), kernel: '6.12.0' });
    // The audit log can be searched for what this agent did.
    const byActor = await t.api('GET', `/api/v1/audit?actor=agent:${c.agentId}`);
    assert.equal(byActor.json.entries.length, 1);
    // The stored facts are the new ones; checking in with them again records nothing more.
    await c.checkIn({ host: host({ hostname: 'db-7', machineId: 'b'.repeat(32), kernel: '6.12.0' }) });
    assert.equal((await entries()).length, 1);
  });
});
