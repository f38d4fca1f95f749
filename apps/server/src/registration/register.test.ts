import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DAY_MS, ManualClock } from '@palisade/common';
import { PROTOCOL_VERSION, RegisterRequestSchema, create, toBinary } from '@palisade/protocol';
import { RegistrationRefused, SimulatedAgent, httpsRequest, simulatedHost } from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';

describe('POST /v1/register', () => {
  const clock = new ManualClock(Date.now());
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ clock });
  });
  after(() => t.stop());

  const register = (o: Partial<Parameters<typeof SimulatedAgent.register>[0]> = {}) =>
    SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
      ...o,
    });

  async function refused(p: Promise<unknown>): Promise<RegistrationRefused> {
    const err = await p.then(
      () => assert.fail('registration should have been refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RegistrationRefused, String(err));
    return err;
  }

  async function agentCount(): Promise<number> {
    return (await t.server.storage.listAgents()).length;
  }

  test('a good key, EC P-256 key pair: agent stored with its certificate fingerprint', async () => {
    const a = await register({ host: { hostname: 'web-1', machineId: 'm-good' } });
    const cert = new X509Certificate(a.identity.certPem);
    assert.equal(
      cert.subject
        .split('\n')
        .find((l) => l.startsWith('CN='))
        ?.slice(3),
      a.agentId,
    );
    assert.ok(cert.verify(new X509Certificate(t.server.caPem).publicKey));
    const stored = await t.server.storage.getAgent(a.agentId);
    assert.ok(stored);
    assert.equal(stored.certFingerprint, createHash('sha256').update(cert.raw).digest('hex'));
    assert.equal(stored.host.hostname, 'web-1');
    assert.equal(stored.host.machineId, 'm-good');
    const key = (await t.server.storage.listKeys())[0]!;
    assert.equal(stored.keyId, key.id);
    assert.equal(stored.groupId, key.groupId);
    assert.equal(a.identity.endpoints?.telemetryPrimaryUrl, t.server.telemetryUrl);
    assert.equal(a.identity.caPem, t.server.caPem);
  });

  test('an Ed25519 key pair works too', async () => {
    const a = await register({ keyType: 'ed25519' });
    assert.ok(await t.server.storage.getAgent(a.agentId));
  });

  test('the same machine registering again gets a new agent that carries the same machine id', async () => {
    const a = await register({ host: { machineId: 'm-twice' } });
    const b = await register({ host: { machineId: 'm-twice' } });
    assert.notEqual(a.agentId, b.agentId);
    const same = await t.server.storage.findAgentsByMachineId('m-twice');
    assert.deepEqual(same.map((x) => x.id).sort(), [a.agentId, b.agentId].sort());
  });

  test('unknown key → 401 invalid_registration_key, nothing created', async () => {
    const n = await agentCount();
    const e = await refused(register({ registrationKey: 'prk_doesnotexist000000000000000000000' }));
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_registration_key');
    assert.equal(await agentCount(), n);
  });

  test('revoked key → 401 revoked_registration_key, nothing created', async () => {
    const created = await t.api('POST', '/api/v1/keys', { body: { group: 'default' } });
    assert.equal(created.status, 201);
    assert.equal((await t.api('POST', `/api/v1/keys/${created.json.key.id}/revoke`)).status, 200);
    const n = await agentCount();
    const e = await refused(register({ registrationKey: created.json.secret }));
    assert.equal(e.status, 401);
    assert.equal(e.code, 'revoked_registration_key');
    assert.equal(await agentCount(), n);
  });

  test('expired key (one year on the injected clock) → 401 expired_registration_key, nothing created', async () => {
    const created = await t.api('POST', '/api/v1/keys', { body: { group: 'default' } });
    const n = await agentCount();
    clock.advance(366 * DAY_MS);
    try {
      const e = await refused(register({ registrationKey: created.json.secret }));
      assert.equal(e.status, 401);
      assert.equal(e.code, 'expired_registration_key');
      assert.match(e.message, /expired on/);
    } finally {
      clock.set(Date.now());
    }
    assert.equal(await agentCount(), n);
  });

  test('a proof of possession made with another key → 400, nothing created', async () => {
    const n = await agentCount();
    const e = await refused(register({ proofOverride: new Uint8Array(70).fill(7) }));
    assert.equal(e.status, 400);
    assert.match(e.message, /proof_of_possession/);
    assert.equal(await agentCount(), n);
  });

  test('an unknown protocol version → 400 unsupported_protocol_version naming both versions', async () => {
    const e = await refused(register({ protocolVersion: 99 }));
    assert.equal(e.status, 400);
    assert.equal(e.code, 'unsupported_protocol_version');
    assert.match(e.message, new RegExp(`99.*${PROTOCOL_VERSION}`));
  });

  test('missing or oversized host facts → 400 naming the field', async () => {
    const e1 = await refused(register({ host: { hostname: '' } }));
    assert.equal(e1.code, 'validation_failed');
    assert.match(e1.message, /host\.hostname/);
    const e2 = await refused(register({ host: { kernel: 'x'.repeat(5000) } }));
    assert.match(e2.message, /host\.kernel/);
  });

  const post = (body: Uint8Array | string, contentType = 'application/x-protobuf') =>
    httpsRequest(`${t.server.registrationUrl}/v1/register`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      ca: t.server.caPem,
    });

  test('garbage body → 400 JSON error', async () => {
    const r = await post(new Uint8Array([0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    assert.equal(r.status, 400);
    const j = JSON.parse(r.body.toString());
    assert.equal(j.error.code, 'bad_request');
    assert.match(j.error.message, /RegisterRequest/);
  });

  test('wrong content type → 415 JSON error', async () => {
    const r = await post('{"registration_key":"x"}', 'application/json');
    assert.equal(r.status, 415);
    assert.equal(JSON.parse(r.body.toString()).error.code, 'unsupported_media_type');
    const r2 = await post('hello', 'text/plain');
    assert.equal(r2.status, 415);
  });

  test('oversized body → 413 JSON error', async () => {
    const req = create(RegisterRequestSchema, {
      protocolVersion: PROTOCOL_VERSION,
      registrationKey: t.registrationKey,
      host: simulatedHost({ osVersion: 'x'.repeat(70 * 1024) }),
    });
    const r = await post(toBinary(RegisterRequestSchema, req));
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body.toString()).error.code, 'payload_too_large');
  });
});
