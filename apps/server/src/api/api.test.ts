import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EventSchema, create } from '@palisade/protocol';
import { SimulatedAgent, makeProcessEvent } from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';

// biome-ignore lint/suspicious/noExplicitAny: tests probe response JSON freely
type Json = any;

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);

describe('admin API /api/v1', () => {
  let t: TestServer;
  let a: SimulatedAgent;
  let b: SimulatedAgent;
  before(async () => {
    t = await startTestServer();
    const reg = () =>
      SimulatedAgent.register({
        registrationUrl: t.server.registrationUrl,
        registrationKey: t.registrationKey,
        caPem: t.server.caPem,
      });
    a = await reg();
    b = await reg();
    await a.connect();
    await b.connect();
    // Agent a: 30 launches, 10 terminations, one second apart; 2 file events. Agent b: 5 launches.
    await a.sendBatch(
      Array.from({ length: 30 }, (_, i) =>
        makeProcessEvent(i, { timeMs: T0 + i * 1000, marker: `needle-${i}` }),
      ),
    );
    await a.sendBatch(
      Array.from({ length: 10 }, (_, i) =>
        makeProcessEvent(100 + i, { timeMs: T0 + (30 + i) * 1000, activityId: 2 }),
      ),
    );
    await a.sendBatch([
      create(EventSchema, {
        classUid: 1001,
        activityId: 4,
        timeMs: BigInt(T0 + 50_000),
        file: { path: '/etc/shadow-copy' },
      }),
      create(EventSchema, {
        classUid: 1001,
        activityId: 5,
        timeMs: BigInt(T0 + 51_000),
        file: { path: '/tmp/x' },
      }),
    ]);
    await b.sendBatch(
      Array.from({ length: 5 }, (_, i) => makeProcessEvent(200 + i, { timeMs: T0 + i * 1000 })),
    );
    await b.close();
  });
  after(async () => {
    await a.close();
    await t.stop();
  });

  test('health needs no token', async () => {
    const r = await t.api('GET', '/api/v1/health', { token: null });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'ok');
  });

  test('a missing, malformed or unknown token → 401 JSON on every protected route', async () => {
    for (const path of [
      '/api/v1/agents',
      '/api/v1/events',
      '/api/v1/keys',
      '/api/v1/groups',
      `/api/v1/agents/${a.agentId}`,
    ]) {
      const none = await t.api('GET', path, { token: null });
      assert.equal(none.status, 401, path);
      assert.equal(none.json.error.code, 'unauthorized');
      const wrong = await t.api('GET', path, { token: 'pat_notARealTokenAtAll00000000000000000000' });
      assert.equal(wrong.status, 401, path);
    }
    const revoke = await t.api('POST', '/api/v1/keys/00000000-0000-0000-0000-000000000000/revoke', {
      token: null,
    });
    assert.equal(revoke.status, 401);
  });

  test('unknown route → 404 JSON', async () => {
    const r = await t.api('GET', '/api/v1/nope');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'not_found');
  });

  test('agents list: host facts, group, last seen, live connection state', async () => {
    const r = await t.api('GET', '/api/v1/agents');
    assert.equal(r.status, 200);
    const byId = new Map(r.json.agents.map((x: { id: string }) => [x.id, x]));
    const ja = byId.get(a.agentId) as Json;
    const jb = byId.get(b.agentId) as Json;
    assert.equal(ja.connection.state, 'connected');
    assert.match(ja.connection.remote_address, /^127\.0\.0\.1:\d+$/);
    assert.equal(ja.connection.channel, 'primary');
    assert.equal(jb.connection.state, 'disconnected');
    assert.ok(jb.connection.since);
    assert.equal(ja.group, 'default');
    assert.equal(ja.os, 'linux');
    assert.equal(ja.version, '0.1.0-sim');
    assert.ok(ja.hostname);
    assert.ok(Array.isArray(ja.capabilities));
    const one = await t.api('GET', `/api/v1/agents/${a.agentId}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.id, a.agentId);
    assert.equal((await t.api('GET', '/api/v1/agents/00000000-0000-4000-8000-000000000000')).status, 404);
    const bad = await t.api('GET', '/api/v1/agents/not-a-uuid');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /parameter id/);
  });

  const events = async (q: string) => {
    const r = await t.api('GET', `/api/v1/events?${q}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json as { events: Json[]; next_cursor: string | null };
  };

  test('events come back as OCSF JSON with the device filled in', async () => {
    const r = await events(`agent_id=${a.agentId}&contains=needle-7&class=process`);
    assert.equal(r.events.length, 1);
    const e = r.events[0]!;
    assert.equal(e.class_uid, 1007);
    assert.equal(e.type_uid, 100701);
    assert.equal(e.device.uid, a.agentId);
    assert.ok(e.device.hostname);
    assert.ok(e.metadata.uid);
    assert.match(e.process.cmd_line, /needle-7$/);
    assert.equal(e.time, T0 + 7000);
  });

  test('each filter narrows the result', async () => {
    assert.equal((await events(`agent_id=${a.agentId}&limit=1000`)).events.length, 42);
    assert.equal((await events(`agent_id=${b.agentId}`)).events.length, 5);
    assert.equal((await events(`agent_id=${a.agentId}&class=process`)).events.length, 40);
    assert.equal((await events(`agent_id=${a.agentId}&class=1001`)).events.length, 2);
    assert.equal((await events(`agent_id=${a.agentId}&class=file&activity=4`)).events.length, 1);
    assert.equal((await events(`agent_id=${a.agentId}&class=process&activity=terminate`)).events.length, 10);
    assert.equal((await events(`agent_id=${a.agentId}&class=process&activity=1`)).events.length, 30);
    assert.equal(
      (await events(`agent_id=${a.agentId}&from=${T0 + 10_000}&to=${T0 + 20_000}`)).events.length,
      10,
    );
    const iso = (ms: number) => new Date(ms).toISOString();
    assert.equal(
      (await events(`agent_id=${a.agentId}&from=${iso(T0 + 10_000)}&to=${iso(T0 + 20_000)}`)).events.length,
      10,
    );
    assert.equal((await events('contains=shadow-copy')).events.length, 1);
    assert.equal((await events(`agent_id=${a.agentId}&limit=3`)).events.length, 3);
  });

  test('cursor paging walks every event once', async () => {
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const r: Awaited<ReturnType<typeof events>> = await events(
        `agent_id=${a.agentId}&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      for (const e of r.events) {
        assert.ok(!seen.has(e.metadata.uid), 'no event twice');
        seen.add(e.metadata.uid);
      }
      cursor = r.next_cursor;
      if (!cursor) break;
    }
    assert.equal(seen.size, 42);
  });

  test('every bad parameter → 400 naming it', async () => {
    const cases: [string, string][] = [
      ['class=bogus', 'class'],
      ['activity=launch', 'activity'],
      ['activity=999', 'activity'],
      ['from=yesterday', 'from'],
      ['to=2026-13-45T99:00', 'to'],
      [`from=${T0}&to=${T0 - 1}`, 'to'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['agent_id=nope', 'agent_id'],
      ['contains=', 'contains'],
      ['colour=blue', 'colour'],
      ['cursor=garbage!!', 'cursor'],
      ['class=process&class=file', 'class'],
    ];
    for (const [q, name] of cases) {
      const r = await t.api('GET', `/api/v1/events?${q}`);
      assert.equal(r.status, 400, `${q} → ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'validation_failed', q);
      assert.match(r.json.error.message, new RegExp(`parameter ${name}`), q);
    }
  });

  test('keys: list without secrets, create shows the secret once, revoke', async () => {
    const list = await t.api('GET', '/api/v1/keys');
    assert.equal(list.status, 200);
    assert.ok(list.json.keys.length >= 1);
    assert.ok(!JSON.stringify(list.json).includes(t.registrationKey), 'no secret in the listing');
    assert.ok(list.json.keys.some((k: { registrations: number }) => k.registrations >= 2));

    const created = await t.api('POST', '/api/v1/keys', { body: { group: 'default' } });
    assert.equal(created.status, 201);
    assert.match(created.json.secret, /^prk_/);
    assert.equal(created.json.key.status, 'active');
    assert.equal(created.json.key.group, 'default');
    const again = await t.api('GET', '/api/v1/keys');
    assert.ok(!JSON.stringify(again.json).includes(created.json.secret));
    // The new key registers an agent.
    const c = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: created.json.secret,
      caPem: t.server.caPem,
    });
    assert.ok(c.agentId);

    const revoked = await t.api('POST', `/api/v1/keys/${created.json.key.id}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.key.status, 'revoked');
    assert.equal((await t.api('POST', `/api/v1/keys/${created.json.key.id}/revoke`)).status, 409);
    assert.equal(
      (await t.api('POST', '/api/v1/keys/00000000-0000-4000-8000-000000000000/revoke')).status,
      404,
    );
  });

  test('keys: bad bodies and unknown groups are refused', async () => {
    const noGroup = await t.api('POST', '/api/v1/keys', { body: { group: 'no-such-group' } });
    assert.equal(noGroup.status, 404);
    const extra = await t.api('POST', '/api/v1/keys', { body: { group: 'default', colour: 'red' } });
    assert.equal(extra.status, 400);
    assert.match(extra.json.error.message, /colour/);
    const notJson = await t.api('POST', '/api/v1/keys', {
      rawBody: '{not json',
      contentType: 'application/json',
    });
    assert.equal(notJson.status, 400);
    const arr = await t.api('POST', '/api/v1/keys', { body: [1, 2] });
    assert.equal(arr.status, 400);
  });

  test('groups list the default group with its policy and agent count', async () => {
    const r = await t.api('GET', '/api/v1/groups');
    assert.equal(r.status, 200);
    const g = r.json.groups.find((x: { name: string }) => x.name === 'default');
    assert.equal(g.policy.tier, 'server');
    assert.equal(g.policy.channel, 'stable');
    assert.equal(g.policy.maintenance_window, 'always');
    assert.ok(g.agent_count >= 2);
  });
});
