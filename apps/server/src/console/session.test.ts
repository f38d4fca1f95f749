import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TestServer, startTestServer } from '../testing/harness.js';
import { INITIAL_ADMIN_FILE } from '../bootstrap/initial-admin.js';
import { SESSION_COOKIE } from './cookies.js';
import { LOGIN_BURST } from '../api/session.js';

const NEW_PASSWORD = 'correct horse battery staple';

describe('console accounts and sessions (real server, real TLS)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  /** login posts name and password without a token and returns the cookie pair and CSRF token. */
  async function login(name: string, password: string) {
    const r = await t.api('POST', '/api/v1/session', { token: null, body: { name, password } });
    const set = String(r.headers['set-cookie'] ?? '');
    const cookie = set.split(';')[0] ?? '';
    return { r, set, cookie, csrf: r.json.csrf_token as string };
  }
  const as = (cookie: string, csrf?: string) => ({
    token: null,
    headers: { cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) },
  });

  test('the first admin: password in a 0600 file, must be changed before anything else', async () => {
    const file = join(t.dataDir, INITIAL_ADMIN_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const first = readFileSync(file, 'utf8').trim();
    const { r, set, cookie, csrf } = await login('admin', first);
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json.user.must_change_password, true);
    assert.match(
      set,
      new RegExp(`^${SESSION_COOKIE}=[\\w-]{43}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200$`),
    );
    assert.equal(JSON.stringify(r.json).includes(first), false);
    const blocked = await t.api('GET', '/api/v1/agents', as(cookie));
    assert.equal(blocked.status, 403);
    assert.match(blocked.json.error.message, /must change the password first/);
    const short = await t.api('POST', '/api/v1/session/password', {
      ...as(cookie, csrf),
      body: { current_password: first, new_password: 'short' },
    });
    assert.equal(short.status, 400);
    assert.match(short.json.error.message, /at least 12 characters/);
    const changed = await t.api('POST', '/api/v1/session/password', {
      ...as(cookie, csrf),
      body: { current_password: first, new_password: NEW_PASSWORD },
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.json));
    assert.equal(changed.json.user.must_change_password, false);
    // The old session ended with the change; the new cookie works.
    assert.equal((await t.api('GET', '/api/v1/session', as(cookie))).status, 401);
    const fresh = String(changed.headers['set-cookie']).split(';')[0]!;
    const me = await t.api('GET', '/api/v1/agents', as(fresh));
    assert.equal(me.status, 200);
    assert.equal((await login('admin', first)).r.status, 401);
  });

  test('state changes need the CSRF token of the session; GETs do not', async () => {
    const { cookie, csrf } = await login('admin', NEW_PASSWORD);
    const body = { name: 'csrf-group' };
    const none = await t.api('POST', '/api/v1/groups', { ...as(cookie), body });
    assert.equal(none.status, 403);
    assert.match(none.json.error.message, /X-CSRF-Token/);
    const wrong = await t.api('POST', '/api/v1/groups', { ...as(cookie, `${csrf}x`), body });
    assert.equal(wrong.status, 403);
    const other = await login('admin', NEW_PASSWORD);
    assert.equal((await t.api('POST', '/api/v1/groups', { ...as(cookie, other.csrf), body })).status, 403);
    const ok = await t.api('POST', '/api/v1/groups', { ...as(cookie, csrf), body });
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    const audit = await t.api('GET', '/api/v1/audit?action=group.create&limit=5');
    assert.equal(audit.json.entries[0].actor.name, 'user:admin');
  });

  test('users get roles like tokens: a viewer reads and is refused (403, audited) a change', async () => {
    const { cookie, csrf } = await login('admin', NEW_PASSWORD);
    const made = await t.api('POST', '/api/v1/users', {
      ...as(cookie, csrf),
      body: { name: 'vera', role: 'viewer' },
    });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    assert.equal(typeof made.json.password, 'string');
    const v = await login('vera', made.json.password);
    const changed = await t.api('POST', '/api/v1/session/password', {
      ...as(v.cookie, v.csrf),
      body: { current_password: made.json.password, new_password: 'a long viewer passphrase' },
    });
    assert.equal(changed.status, 200);
    const vc = String(changed.headers['set-cookie']).split(';')[0]!;
    const vcsrf = changed.json.csrf_token;
    assert.equal((await t.api('GET', '/api/v1/agents', as(vc))).status, 200);
    const refused = await t.api('POST', `/api/v1/agents/00000000-0000-4000-8000-000000000000/isolate`, {
      ...as(vc, vcsrf),
      body: { reason: 'test' },
    });
    assert.equal(refused.status, 403);
    assert.equal(
      refused.json.error.message,
      'POST /api/v1/agents/:id/isolate needs role analyst; user "vera" has role viewer',
    );
    const denied = await t.api('GET', '/api/v1/audit?actor=user:vera&outcome=denied&limit=5');
    assert.equal(denied.json.entries[0].action, 'api.denied');
  });

  test('five wrong passwords lock the account, even against the right one; an admin unlocks it', async () => {
    const { cookie, csrf } = await login('admin', NEW_PASSWORD);
    const made = await t.api('POST', '/api/v1/users', {
      ...as(cookie, csrf),
      body: { name: 'lena', role: 'analyst' },
    });
    for (let i = 0; i < 5; i++) assert.equal((await login('lena', `wrong-${i}`)).r.status, 401);
    const locked = await login('lena', made.json.password);
    assert.equal(locked.r.status, 403);
    assert.match(locked.r.json.error.message, /locked after 5 wrong passwords until/);
    const list = await t.api('GET', '/api/v1/users');
    assert.equal(list.json.users.find((u: { name: string }) => u.name === 'lena').status, 'locked');
    assert.equal((await t.api('POST', '/api/v1/users/lena/unlock', { body: {} })).status, 200);
    assert.equal((await login('lena', made.json.password)).r.status, 201);
    const audit = await t.api('GET', '/api/v1/audit?action=user.lock&limit=5');
    assert.equal(audit.json.entries.length, 1);
  });

  test('logout ends the session; the cookie is cleared and refused afterwards', async () => {
    const { cookie, csrf } = await login('admin', NEW_PASSWORD);
    const noCsrf = await t.api('DELETE', '/api/v1/session', as(cookie));
    assert.equal(noCsrf.status, 403);
    const out = await t.api('DELETE', '/api/v1/session', as(cookie, csrf));
    assert.equal(out.status, 200);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    assert.equal((await t.api('GET', '/api/v1/session', as(cookie))).status, 401);
  });

  test('the live stream needs a session or token and speaks text/event-stream', async () => {
    assert.equal((await t.api('GET', '/api/v1/stream', { token: null })).status, 401);
    const port = new URL(t.server.registrationUrl).port;
    const head = await new Promise<{ status: number; type: string; first: string }>((resolve, reject) => {
      const req = request(
        `https://127.0.0.1:${port}/api/v1/stream`,
        { ca: t.server.caPem, agent: false, headers: { authorization: `Bearer ${t.adminToken}` } },
        (res) => {
          res.once('data', (c: Buffer) => {
            resolve({
              status: res.statusCode ?? 0,
              type: String(res.headers['content-type']),
              first: c.toString(),
            });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(head.status, 200);
    assert.match(head.type, /^text\/event-stream/);
    assert.match(head.first, /^retry: 3000/);
  });

  test('logins are rate-limited per address: 429 with Retry-After once the burst is spent', async () => {
    let limited: Awaited<ReturnType<typeof login>>['r'] | undefined;
    for (let i = 0; i < LOGIN_BURST + 5 && !limited; i++) {
      const a = await login(`nobody${i}`, 'x');
      if (a.r.status === 429) limited = a.r;
      else assert.equal(a.r.status, 401);
    }
    assert.ok(limited, 'never rate-limited');
    assert.match(limited.json.error.message, /too many login attempts from this address; retry in \d+ s/);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  });

  test('the console page is served with a strict content security policy', async () => {
    const r = await t.api('GET', '/', { token: null });
    assert.ok(r.status === 200 || r.status === 503, `GET / → ${r.status}`);
    assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
  });
});
