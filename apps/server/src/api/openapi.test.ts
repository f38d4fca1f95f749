// Every admin API route is validated by a JSON schema and appears in GET /api/v1/openapi.json.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestServer, startTestServer } from '../testing/harness.js';
import { API_PREFIX, type ApiRoute, checkSchema } from './index.js';
import { guardedRoutes, routeSchema } from './route-guard.js';
import type { JsonSchema } from './schema.js';

/** openObjects lists the object schemas inside `s` that allow properties they do not name. */
function openObjects(s: unknown, path = ''): string[] {
  if (Array.isArray(s)) return s.flatMap((x, i) => openObjects(x, `${path}[${i}]`));
  if (typeof s !== 'object' || s === null) return [];
  const o = s as JsonSchema;
  const out: string[] = [];
  const types = Array.isArray(o.type) ? o.type : [o.type];
  if (types.includes('object') && o.additionalProperties !== false) out.push(path || '(root)');
  for (const [k, v] of Object.entries(o)) {
    if (k === 'properties')
      for (const [p, ps] of Object.entries(v as object)) out.push(...openObjects(ps, `${path}.${p}`));
    else if (k === 'items' || k === 'anyOf' || k === 'oneOf') out.push(...openObjects(v, `${path}.${k}`));
  }
  return out;
}

describe('admin API schemas and the OpenAPI document', () => {
  let t: TestServer;
  // biome-ignore lint/suspicious/noExplicitAny: the document is probed freely
  let doc: any;
  before(async () => {
    t = await startTestServer();
    const viewer = await t.api('POST', '/api/v1/tokens', { body: { name: 'doc-reader', role: 'viewer' } });
    const r = await t.api('GET', '/api/v1/openapi.json', { token: viewer.json.secret });
    assert.equal(r.status, 200);
    doc = r.json;
  });
  after(() => t.stop());

  test('every registered /api/v1 route has a request schema that refuses unknown fields, and is in the document', () => {
    const routes = guardedRoutes().filter(
      (k) => k.split(' ')[1]!.startsWith(API_PREFIX) && !k.startsWith('HEAD '),
    );
    assert.ok(routes.length >= 20, `only ${routes.length} routes seen`);
    for (const key of routes) {
      const [method, url] = key.split(' ') as [string, string];
      const schema = routeSchema(key) as Record<string, unknown> | undefined;
      assert.ok(schema, `${key} has no schema`);
      const part = method === 'GET' || method === 'DELETE' ? 'querystring' : 'body';
      assert.ok(schema[part], `${key} has no ${part} schema`);
      if (url.includes(':')) assert.ok(schema.params, `${key} has no params schema`);
      for (const p of ['querystring', 'params', 'body']) {
        assert.deepEqual(
          openObjects(schema[p]),
          [],
          `${key} ${p}: objects must set additionalProperties: false`,
        );
      }
      const path = url.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths?.[path]?.[method.toLowerCase()];
      assert.ok(op, `${key} is not in the OpenAPI document`);
      assert.ok(op.summary, `${key} has no summary`);
      const names = (op.parameters as { name: string; in: string }[]).map((x) => `${x.in}:${x.name}`);
      for (const n of Object.keys((schema.querystring as JsonSchema | undefined)?.properties ?? {}))
        assert.ok(names.includes(`query:${n}`), `${key}: query parameter ${n} is not documented`);
      for (const n of [...url.matchAll(/:(\w+)/g)].map((m) => m[1]))
        assert.ok(names.includes(`path:${n}`), `${key}: path parameter ${n} is not documented`);
      if (part === 'body')
        assert.ok(op.requestBody?.content?.['application/json']?.schema, `${key}: no body in the document`);
      assert.ok(op['x-palisade-role'], `${key}: no role in the document`);
    }
    // And nothing in the document that is not a route.
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    assert.deepEqual(documented.sort(), [...routes].sort());
  });

  test('every route refuses an unknown parameter or field with a 400 that names the field', async () => {
    for (const key of guardedRoutes().filter(
      (k) => k.includes(` ${API_PREFIX}/`) && !k.startsWith('HEAD '),
    )) {
      const [method, url] = key.split(' ') as [string, string];
      const path = url.replace(':id', '00000000-0000-4000-8000-000000000000').replace(':ref', 'default');
      const r =
        method === 'GET' || method === 'DELETE'
          ? await t.api(method, `${path}?bogus=1`)
          : await t.api(method, path, { body: { bogus: 1 } });
      assert.equal(r.status, 400, `${key}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'validation_failed', key);
      // (A body that also lacks a required field may be told that first.)
      assert.match(
        r.json.error.message,
        /^(parameter|field) (bogus: unknown (parameter|field)|\w+: required)/,
        key,
      );
    }
  });

  test('the document is OpenAPI 3.1 with bearer security; reading it needs a token', async () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
    assert.equal(doc.paths['/api/v1/keys'].post['x-palisade-role'], 'admin');
    assert.deepEqual(doc.paths['/api/v1/health'].get.security, []);
    assert.equal((await t.api('GET', '/api/v1/openapi.json', { token: null })).status, 401);
  });

  test('a route without the schema parts its method needs cannot be mounted', () => {
    const base = { handler: async () => ({}) };
    const bad: [ApiRoute, RegExp][] = [
      [{ ...base, method: 'GET', url: '/x', schema: { summary: 's' } }, /no querystring schema/],
      [{ ...base, method: 'POST', url: '/x', schema: { summary: 's' } }, /no body schema/],
      [
        { ...base, method: 'GET', url: '/x/:id', schema: { summary: 's', querystring: {} } },
        /params schema must declare exactly id/,
      ],
    ];
    for (const [r, msg] of bad) assert.throws(() => checkSchema(r), msg);
  });
});
