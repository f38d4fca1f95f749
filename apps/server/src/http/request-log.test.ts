import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { SimulatedAgent, httpsRequest } from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';

describe('API request logs: request ids, nothing secret', () => {
  let t: TestServer;
  const lines: string[] = [];
  before(async () => {
    const out = new PassThrough();
    out.on('data', (c: Buffer) => lines.push(...c.toString('utf8').split('\n').filter(Boolean)));
    t = await startTestServer({ logLevel: 'debug', logDestination: out });
  });
  after(() => t.stop());

  test('every request gets an id in its answer and its log line; a caller id is kept only when well-formed', async () => {
    const get = (headers: Record<string, string>) =>
      httpsRequest(`${t.server.registrationUrl}/api/v1/groups`, {
        ca: t.server.caPem,
        headers: { authorization: `Bearer ${t.adminToken}`, ...headers },
      });
    const plain = await get({});
    assert.equal(plain.status, 200);
    const kept = await get({ 'x-request-id': 'proxy-42.a:b_c' });
    const refused = await get({ 'x-request-id': 'has spaces {and} "quotes"' });
    const ids = [plain, kept, refused].map((r) => r.headers['x-request-id']);
    assert.match(String(ids[0]), /^[0-9a-f-]{36}$/);
    assert.equal(ids[1], 'proxy-42.a:b_c');
    assert.match(String(ids[2]), /^[0-9a-f-]{36}$/);
    for (const id of ids) {
      const line = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.reqId === id);
      assert.ok(line, `log line for ${id}`);
      assert.equal(line.route, '/api/v1/groups');
      assert.equal(line.status, 200);
      assert.equal(line.method, 'GET');
    }
  });

  test('tokens, registration keys and search text never reach the log, even on errors (debug level)', async () => {
    const metrics = await t.api('POST', '/api/v1/tokens', { body: { name: 'scrape', role: 'metrics' } });
    const metricsSecret: string = metrics.json.secret;
    await t.api('GET', '/api/v1/events?contains=hunter2-password&limit=1');
    await t.api('GET', '/api/v1/agents', { token: metricsSecret });
    await t.api('GET', '/api/v1/agents', { token: 'not-a-real-token-zz9' });
    const agent = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
    await assert.rejects(
      SimulatedAgent.register({
        registrationUrl: t.server.registrationUrl,
        registrationKey: `${t.registrationKey}x`,
        caPem: t.server.caPem,
      }),
    );
    await agent.checkIn();
    const all = lines.join('\n');
    assert.ok(lines.length > 5);
    for (const secret of [
      t.adminToken,
      metricsSecret,
      'not-a-real-token-zz9',
      t.registrationKey,
      'hunter2-password',
    ])
      assert.ok(!all.includes(secret), `log contains ${secret.slice(0, 6)}…`);
    // The refusals were logged, with their request ids.
    const refused = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request refused');
    assert.ok(refused.length >= 2);
    for (const r of refused) assert.ok(r.reqId, JSON.stringify(r));
  });
});
