// Revoking an agent's credential through the API (ADR 0015): audited, admin only (route-roles test),
// its open sessions closed at once in this process and within seconds in a standby-only one, its
// certificate refused everywhere afterwards. Bad requests change nothing. Real TLS, real SQLite.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RegistrationRefused, SimulatedAgent, makeProcessEvent, renewAgent } from '@palisade/testkit';
import { type RunningStandby, startStandbyServer } from '../standby-server.js';
import { type TestServer, startTestServer } from '../testing/harness.js';

describe('POST /api/v1/agents/:id/revoke', () => {
  let t: TestServer;
  let standby: RunningStandby;
  const register = () =>
    SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
  before(async () => {
    t = await startTestServer({ sessionRecheckMs: 200 });
    standby = await startStandbyServer({
      dataDir: t.dataDir,
      standbyPort: 0,
      logLevel: 'silent',
      sessionRecheckMs: 200,
    });
  });
  after(async () => {
    await standby.close();
    await t.stop();
  });

  test('revoking closes the open session at once, refuses the certificate everywhere, and is audited', async () => {
    const a = await register();
    await a.connect();
    assert.equal((await a.sendBatch([makeProcessEvent(1)])).duplicate, false);
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/revoke`, {
      body: { reason: 'laptop stolen' },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.status, 'revoked');
    assert.equal(r.json.revocation_reason, 'laptop stolen');
    assert.ok(r.json.revoked_at);
    assert.equal(await a.closed(1000), 4003, 'closed by the API call itself, not a later sweep');
    const ci = await a.checkIn().then(
      () => assert.fail('check-in should be refused'),
      (e: unknown) => e as RegistrationRefused,
    );
    assert.equal(ci.status, 401);
    assert.match(ci.message, /agent credential revoked \(laptop stolen\)/);
    await assert.rejects(a.connect(), /upgrade refused: 401 .*agent credential revoked/);
    await assert.rejects(a.connect({ url: standby.standbyUrl }), /upgrade refused: 401/);
    await assert.rejects(renewAgent(a.identity), /401 invalid_credentials/);
    const audit = await t.api('GET', `/api/v1/audit?target=${a.agentId}`);
    assert.equal(audit.json.entries[0].action, 'agent.revoke');
    assert.equal(audit.json.entries[0].actor.name, 'quickstart-admin');
    assert.equal(audit.json.entries[0].details.reason, 'laptop stolen');
    const again = await t.api('POST', `/api/v1/agents/${a.agentId}/revoke`, { body: {} });
    assert.equal(again.status, 409);
    assert.match(again.json.error.message, /already revoked/);
    const listed = await t.api('GET', '/api/v1/agents?status=revoked');
    assert.deepEqual(
      listed.json.agents.map((x: { id: string }) => x.id),
      [a.agentId],
    );
    // Its events stay.
    assert.equal((await t.api('GET', `/api/v1/events?agent_id=${a.agentId}`)).json.events.length, 1);
  });

  test('a reason is optional (an empty body or none at all)', async () => {
    const a = await register();
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/revoke`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.revocation_reason, null);
    const b = await register();
    assert.equal((await t.api('POST', `/api/v1/agents/${b.agentId}/revoke`, { body: {} })).status, 200);
  });

  test('bad requests are refused with the field named and change nothing', async () => {
    const a = await register();
    await a.connect();
    const cases: [string, { body?: unknown; rawBody?: string }, number, RegExp][] = [
      ['unknown field', { body: { reason: 'x', force: true } }, 400, /additional properties|force/],
      ['empty reason', { body: { reason: '' } }, 400, /reason/],
      ['long reason', { body: { reason: 'x'.repeat(201) } }, 400, /reason/],
      ['control characters', { body: { reason: 'a\nb' } }, 400, /reason/],
      ['not a string', { body: { reason: 7 } }, 400, /reason/],
      ['not JSON', { rawBody: '{reason:' }, 400, /JSON|Unexpected|body/i],
      ['an array', { body: ['x'] }, 400, /object|body/],
    ];
    for (const [what, o, status, message] of cases) {
      const r = await t.api('POST', `/api/v1/agents/${a.agentId}/revoke`, o);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
      assert.ok(['validation_failed', 'bad_request'].includes(r.json.error.code), what);
      assert.match(r.json.error.message, message, what);
    }
    const unknown = await t.api('POST', '/api/v1/agents/00000000-0000-4000-8000-000000000000/revoke', {
      body: {},
    });
    assert.equal(unknown.status, 404);
    assert.equal((await t.server.storage.getAgent(a.agentId))!.revokedAt, null, 'still active');
    assert.equal((await a.sendBatch([makeProcessEvent(1)])).duplicate, false, 'still streaming');
    await a.close();
  });

  test('a standby-only process closes the open session of a revoked agent within seconds, and refuses it', async () => {
    const a = await register();
    await a.connect({ url: standby.standbyUrl });
    assert.equal((await a.sendBatch([makeProcessEvent(1)])).duplicate, false);
    const t0 = Date.now();
    assert.equal((await t.api('POST', `/api/v1/agents/${a.agentId}/revoke`, { body: {} })).status, 200);
    assert.equal(await a.closed(5000), 4003);
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `closed after ${ms} ms`);
    await assert.rejects(a.connect({ url: standby.standbyUrl }), /upgrade refused: 401 .*revoked/);
  });
});
