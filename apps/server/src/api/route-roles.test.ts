import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger, systemClock } from '@palisade/common';
import Fastify from 'fastify';
import { type TestServer, startTestServer } from '../testing/harness.js';
import { installErrorHandlers } from '../http/errors.js';
import { guardedRoutes, installRouteRoles } from './route-guard.js';
import { ROUTE_ROLES, routeKey } from './route-roles.js';

const RANK = { viewer: 1, analyst: 2, admin: 3 } as const;
const ANY_UUID = '00000000-0000-4000-8000-000000000000';

/** concrete fills a route's parameters so that it can be called. */
function concrete(url: string): string {
  return url.replace(':id', ANY_UUID).replace(':ref', 'no-such-group');
}

describe('route → role table (every route of the registration listener)', () => {
  let t: TestServer;
  const tokens: Record<'viewer' | 'analyst' | 'admin', string> = { viewer: '', analyst: '', admin: '' };
  before(async () => {
    t = await startTestServer();
    tokens.admin = t.adminToken;
    for (const role of ['viewer', 'analyst'] as const) {
      const r = await t.api('POST', '/api/v1/tokens', { body: { name: `rt-${role}`, role } });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      tokens[role] = r.json.secret;
    }
  });
  after(() => t.stop());

  test('every registered route has an entry and every entry is a registered route', () => {
    const registered = new Set(guardedRoutes().map((k) => routeKey(k.split(' ')[0]!, k.split(' ')[1]!)));
    assert.ok(registered.size >= 20, `only ${registered.size} routes seen`);
    for (const key of registered) assert.ok(Object.hasOwn(ROUTE_ROLES, key), `${key} has no role entry`);
    for (const key of Object.keys(ROUTE_ROLES)) assert.ok(registered.has(key), `stale entry ${key}`);
  });

  test('a route missing from the table cannot be registered: the app refuses to start', async () => {
    const app = Fastify({ logger: false });
    installRouteRoles(app, { storage: t.server.storage, clock: systemClock, logger: silentLogger });
    await assert.rejects(async () => {
      app.get('/api/v1/unlisted', async () => ({ leaked: true }));
      await app.ready();
    }, /GET \/api\/v1\/unlisted has no entry in ROUTE_ROLES/);
    await app.close().catch(() => {});
  });

  const apiRoutes = Object.entries(ROUTE_ROLES).filter(
    // The live stream never ends on its own; apps/server/src/console/session.test.ts checks its access.
    ([k, access]) => k.includes(' /api/') && access !== 'public' && k !== 'GET /api/v1/stream',
  ) as [string, 'viewer' | 'analyst' | 'admin'][];

  test('each role is refused (403, clear JSON, audited) exactly where the table says', async () => {
    for (const [key, need] of apiRoutes) {
      const [method, url] = key.split(' ') as [string, string];
      const none = await t.api(method, concrete(url), { token: null });
      assert.equal(none.status, 401, `${key} without a token`);
      for (const role of ['viewer', 'analyst', 'admin'] as const) {
        // Harmless bodies: never a valid change, so no route does anything lasting.
        const r = await t.api(method, concrete(url), {
          token: tokens[role],
          ...(method === 'GET' || method === 'DELETE' ? {} : { body: { not_a_field: 1 } }),
        });
        if (RANK[role] < RANK[need]) {
          assert.equal(r.status, 403, `${key} as ${role}: ${JSON.stringify(r.json)}`);
          assert.equal(r.json.error.code, 'forbidden');
          assert.equal(
            r.json.error.message,
            `${method} ${url} needs role ${need}; token "${role === 'admin' ? 'quickstart-admin' : `rt-${role}`}" has role ${role}`,
          );
        } else {
          assert.ok(
            ![401, 403].includes(r.status),
            `${key} as ${role} → ${r.status} ${JSON.stringify(r.json)}`,
          );
        }
      }
    }
    const denied = await t.api('GET', '/api/v1/audit?outcome=denied&actor=rt-viewer&limit=1000');
    assert.equal(denied.status, 200);
    const adminOnly = apiRoutes.filter(([, need]) => need !== 'viewer').length;
    assert.equal(denied.json.entries.length, adminOnly);
    const e = denied.json.entries[0];
    assert.equal(e.action, 'api.denied');
    assert.equal(e.remote_address, '127.0.0.1');
    assert.equal(e.actor.name, 'rt-viewer');
  });

  test('a revoked token is refused at once with 401', async () => {
    const made = await t.api('POST', '/api/v1/tokens', { body: { name: 'short-lived', role: 'viewer' } });
    assert.equal((await t.api('GET', '/api/v1/agents', { token: made.json.secret })).status, 200);
    const rev = await t.api('POST', `/api/v1/tokens/${made.json.token.id}/revoke`);
    assert.equal(rev.status, 200);
    assert.equal(rev.json.token.status, 'revoked');
    const after = await t.api('GET', '/api/v1/agents', { token: made.json.secret });
    assert.equal(after.status, 401);
    assert.match(after.json.error.message, /revoked/);
  });

  test('a route serving several methods checks each request against its own method', async () => {
    const app = Fastify({ logger: false });
    installErrorHandlers(app, silentLogger);
    installRouteRoles(app, { storage: t.server.storage, clock: systemClock, logger: silentLogger });
    // The table says GET /api/v1/groups is viewer, POST admin.
    app.route({ method: ['GET', 'POST'], url: '/api/v1/groups', handler: async () => ({ ok: true }) });
    await app.ready();
    const call = async (method: 'GET' | 'POST') =>
      (
        await app.inject({
          method,
          url: '/api/v1/groups',
          headers: { authorization: `Bearer ${tokens.viewer}` },
        })
      ).statusCode;
    assert.equal(await call('GET'), 200);
    assert.equal(await call('POST'), 403);
    await app.close();
  });
});
