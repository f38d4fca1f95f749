import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DAY_MS, ManualClock } from '@palisade/common';
import { RegistrationRefused, SimulatedAgent, makeProcessEvent } from '@palisade/testkit';
import { waitFor } from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';

// biome-ignore lint/suspicious/noExplicitAny: tests probe response JSON freely
type Json = any;

describe('registration key lifecycle over a year (injected clock, rotation job every 100 ms)', () => {
  // TLS checks certificates against real time, and the server issues them at its (injected) time:
  // day 0 is 12 real days ago, so the certificate of the agent registered at day 10 is valid now.
  const day0 = Date.now() - 12 * DAY_MS;
  const clock = new ManualClock(day0);
  const at = (day: number) => clock.set(day0 + day * DAY_MS);
  let t: TestServer;
  let groupId: string;
  let firstKey: { id: string; secret: string };
  let early: SimulatedAgent;

  const register = (secret: string, machineId?: string) =>
    SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: secret,
      caPem: t.server.caPem,
      ...(machineId ? { host: { machineId } } : {}),
    });
  const refusal = async (p: Promise<unknown>): Promise<RegistrationRefused> => {
    const err = await p.then(
      () => assert.fail('registration should have been refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RegistrationRefused, String(err));
    return err;
  };
  const groupKeys = async (): Promise<Json[]> => {
    const r = await t.api('GET', `/api/v1/keys?group=${groupId}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json.keys;
  };

  before(async () => {
    t = await startTestServer({ clock, keyRotationIntervalMs: 100 });
  });
  after(async () => {
    await early?.close();
    await t.stop();
  });

  test('day 0: a new group comes with one key, shown once, expiring a year later', async () => {
    const r = await t.api('POST', '/api/v1/groups', { body: { name: 'lab' } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    groupId = r.json.id;
    const k = r.json.registration_key;
    assert.match(k.secret, /^prk_[0-9A-Za-z]{40}$/);
    firstKey = { id: k.key.id, secret: k.secret };
    const keys = await groupKeys();
    assert.equal(keys.length, 1);
    assert.equal(keys[0].status, 'active');
    assert.equal(keys[0].expires_at, new Date(day0 + 365 * DAY_MS).toISOString());
    assert.equal(JSON.stringify(keys).includes(firstKey.secret), false, 'listing never shows a secret');
  });

  test('day 10: an agent registers with the first key and streams', async () => {
    at(10);
    early = await register(firstKey.secret);
    await early.connect();
    assert.equal((await early.sendBatch([makeProcessEvent(1, { marker: 'day-10' })])).duplicate, false);
    assert.equal((await groupKeys())[0].registrations, 1);
  });

  test('day 334: nothing to rotate yet; day 335: the job has made a second key', async () => {
    at(334);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await groupKeys()).length, 1);
    at(335);
    const keys = await waitFor('the rotated key', async () => {
      const ks = await groupKeys();
      return ks.length === 2 ? ks : undefined;
    });
    const second = keys.find((k) => k.id !== firstKey.id);
    assert.equal(second.rotated_from, firstKey.id);
    assert.equal(second.status, 'active');
    assert.equal(second.expires_at, new Date(day0 + (335 + 365) * DAY_MS).toISOString());
    assert.equal(second.secret_claimable, true);
    // The job runs again and again: still exactly two keys.
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await groupKeys()).length, 2);
  });

  let secondKey: { id: string; secret: string };
  test('the generated secret can be claimed once; who did it is audited', async () => {
    const id = (await groupKeys()).find((k) => k.id !== firstKey.id).id;
    const c = await t.api('POST', `/api/v1/keys/${id}/claim`);
    assert.equal(c.status, 200, JSON.stringify(c.json));
    secondKey = { id, secret: c.json.secret };
    assert.equal(c.json.key.secret_claimable, false);
    const again = await t.api('POST', `/api/v1/keys/${id}/claim`);
    assert.equal(again.status, 409);
    assert.match(again.json.error.message, /no secret to claim/);
    const audit = await t.api('GET', `/api/v1/audit?target=${id}`);
    assert.deepEqual(
      audit.json.entries.map((e: Json) => [e.action, e.actor.name]),
      [
        ['key.claim', 'quickstart-admin'],
        ['key.rotate', 'system'],
      ],
    );
  });

  test('day 340: both keys register agents (the overlap)', async () => {
    at(340);
    const a = await register(firstKey.secret);
    const b = await register(secondKey.secret);
    assert.notEqual(a.agentId, b.agentId);
    const agents = (await t.api('GET', `/api/v1/agents?group=${groupId}`)).json.agents;
    assert.equal(agents.length, 3);
  });

  test('day 366: the first key is refused as expired; the agent from day 10 still streams', async () => {
    at(366);
    const e = await refusal(register(firstKey.secret));
    assert.equal(e.status, 401);
    assert.equal(e.code, 'expired_registration_key');
    assert.match(e.message, /expired on/);
    await register(secondKey.secret);
    const statuses = Object.fromEntries((await groupKeys()).map((k) => [k.id, k.status]));
    assert.deepEqual(statuses, { [firstKey.id]: 'expired', [secondKey.id]: 'active' });
    // The agent registered with the expired key: new connection, check-in and batches all work.
    await early.close();
    await early.connect();
    assert.equal((await early.sendBatch([makeProcessEvent(2, { marker: 'day-366' })])).duplicate, false);
    const ci = await early.checkIn();
    assert.equal(ci.agentId, early.agentId);
  });

  test('revoking a key refuses new registrations at once; agents enrolled with it keep working', async () => {
    const r = await t.api('POST', `/api/v1/keys/${secondKey.id}/revoke`);
    assert.equal(r.status, 200);
    assert.equal(r.json.key.status, 'revoked');
    const e = await refusal(register(secondKey.secret));
    assert.equal(e.code, 'revoked_registration_key');
    const again = await t.api('POST', `/api/v1/keys/${secondKey.id}/revoke`);
    assert.equal(again.status, 409);
    assert.equal((await early.sendBatch([makeProcessEvent(3, { marker: 'after-revoke' })])).duplicate, false);
  });

  test('a group whose keys are all revoked or expired gets no new key from the job', async () => {
    at(800);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await groupKeys()).length, 2);
  });
});
