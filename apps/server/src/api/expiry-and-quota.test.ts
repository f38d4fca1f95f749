// API tokens that expire and registration keys with a use quota, through the real API (injected
// clock for the expiry; real registrations for the quota).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DAY_MS, ManualClock } from '@palisade/common';
import { RegistrationRefused, SimulatedAgent } from '@palisade/testkit';
import { startTestServer, type TestServer } from '../testing/harness.js';

describe('API token expiry', () => {
  const clock = new ManualClock(Date.now());
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ clock });
  });
  after(() => t.stop());

  test('a token made with --expires-in works until then, and is refused after with the date', async () => {
    const made = await t.api('POST', '/api/v1/tokens', {
      body: { name: 'contractor', role: 'viewer', expires_in: '90d' },
    });
    assert.equal(made.status, 201);
    const expiresAt = clock.now() + 90 * DAY_MS;
    assert.equal(made.json.token.expires_at, new Date(expiresAt).toISOString());
    assert.equal(made.json.token.status, 'active');
    const token = made.json.secret as string;
    clock.advance(89 * DAY_MS);
    assert.equal((await t.api('GET', '/api/v1/agents', { token })).status, 200);
    clock.advance(DAY_MS);
    const refused = await t.api('GET', '/api/v1/agents', { token });
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, 'unauthorized');
    assert.equal(
      refused.json.error.message,
      `API token "contractor" expired on ${new Date(expiresAt).toISOString()}; create a new one (palisade tokens create)`,
    );
    const listed = (await t.api('GET', '/api/v1/tokens')).json.tokens.find(
      (x: { name: string }) => x.name === 'contractor',
    );
    assert.equal(listed.status, 'expired');
    assert.equal(listed.expires_at, new Date(expiresAt).toISOString());
    // Its name is free again: only live tokens hold a name.
    const again = await t.api('POST', '/api/v1/tokens', {
      body: { name: 'contractor', role: 'viewer', expires_at: new Date(clock.now() + DAY_MS).toISOString() },
    });
    assert.equal(again.status, 201);
    // A token without expiry (the quickstart admin's) still works.
    assert.equal((await t.api('GET', '/api/v1/tokens')).status, 200);
  });

  test('an expiry in the past, beyond ten years, both forms at once, or a bad duration is a clear 400', async () => {
    const cases: [object, RegExp][] = [
      [{ expires_at: '2001-01-01T00:00:00Z' }, /field expires_at: the token would already be expired/],
      [{ expires_in: '4000d' }, /field expires_in: more than ten years from now/],
      [{ expires_in: '90d', expires_at: '2099-01-01' }, /give expires_in or expires_at, not both/],
      [{ expires_in: '90 days' }, /field expires_in: "90 days" is not a lifetime such as 90d/],
      [
        { expires_at: 'tomorrow' },
        /field expires_at: "tomorrow" is not ms since the epoch or an ISO 8601 time/,
      ],
    ];
    for (const [extra, msg] of cases) {
      const r = await t.api('POST', '/api/v1/tokens', { body: { name: 'x', role: 'viewer', ...extra } });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.match(r.json.error.message, msg);
    }
  });
});

describe('registration key use quota', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  const register = (key: string) =>
    SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: key,
      caPem: t.server.caPem,
    });

  test('a key with --max-uses N registers N agents; the next is refused, clearly; the listing shows uses/quota', async () => {
    const made = await t.api('POST', '/api/v1/keys', { body: { group: 'default', max_uses: 2 } });
    assert.equal(made.status, 201);
    assert.equal(made.json.key.max_uses, 2);
    const secret = made.json.secret as string;
    await register(secret);
    await register(secret);
    const err = await register(secret).then(
      () => assert.fail('a third registration must be refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RegistrationRefused);
    assert.equal(err.status, 401);
    assert.equal(err.code, 'exhausted_registration_key');
    assert.match(err.message, /has been used 2 of 2 times; ask the operator for another key/);
    const key = (await t.api('GET', '/api/v1/keys')).json.keys.find(
      (k: { id: string }) => k.id === made.json.key.id,
    );
    assert.equal(key.registrations, 2);
    assert.equal(key.max_uses, 2);
    assert.equal(key.status, 'used_up');
    // Nothing was stored for the refused one.
    const agents = (await t.api('GET', '/api/v1/agents')).json.agents.filter(
      (a: { key_id: string }) => a.key_id === made.json.key.id,
    );
    assert.equal(agents.length, 2);
  });

  test('registrations racing for the last uses of a key: exactly the quota gets in', async () => {
    const made = await t.api('POST', '/api/v1/keys', { body: { max_uses: 3 } });
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => register(made.json.secret)));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 3);
    for (const o of outcomes) {
      if (o.status === 'rejected')
        assert.equal((o.reason as RegistrationRefused).code, 'exhausted_registration_key');
    }
  });

  test('a quota of 0, a fraction or a string is a clear 400', async () => {
    for (const max_uses of [0, 1.5, '3']) {
      const r = await t.api('POST', '/api/v1/keys', { body: { max_uses } });
      assert.equal(r.status, 400, String(max_uses));
      assert.match(r.json.error.message, /field max_uses: .* is not a number of registrations from 1/);
    }
  });
});
