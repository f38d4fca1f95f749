// The webhook sender against a real HTTP receiver on 127.0.0.1: signatures, retries with backoff,
// no retry on a client error, timeouts, the bounded queue, and stopping.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@palisade/common';
import { freePort } from '@palisade/testkit';
import { WebhookSender, type WebhookOutcome } from './webhook-sender.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signBody, verifySignature } from './webhook-signature.js';

interface Received {
  path: string;
  body: string;
  headers: IncomingMessage['headers'];
}

let server: Server;
let base = '';
const received: Received[] = [];
/** What the receiver answers, per path: a list of statuses used in turn (the last one repeats). */
const plan = new Map<string, number[]>();

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      if (path.startsWith('/hang')) return; // never answers
      const statuses = plan.get(path) ?? [204];
      const status = statuses.length > 1 ? statuses.shift()! : statuses[0]!;
      res.writeHead(status, status === 302 ? { location: 'http://127.0.0.1:1/elsewhere' } : {}).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const SECRET = 'pwh_test-secret';

function sender(o: Partial<ConstructorParameters<typeof WebhookSender>[0]> = {}): WebhookSender {
  return new WebhookSender({
    logger: silentLogger,
    allowLoopbackHttp: true,
    initialBackoffMs: 20,
    maxBackoffMs: 50,
    timeoutMs: 2000,
    ...o,
  });
}

function send(
  s: WebhookSender,
  path: string,
  payload: Record<string, unknown> = { hello: 'world' },
): Promise<WebhookOutcome> {
  return new Promise((done) => s.send({ url: `${base}${path}`, secret: SECRET, payload, done }));
}

const of = (path: string) => received.filter((r) => r.path === path);

describe('webhook sender', () => {
  test('posts the payload as JSON with a valid HMAC-SHA256 signature of the exact body', async () => {
    const s = sender();
    const o = await send(s, '/ok', { finding: { class_uid: 2004 } });
    assert.deepEqual(o, { ok: true, attempts: 1, detail: 'HTTP 204' });
    const [r] = of('/ok');
    assert.ok(r);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers[SIGNATURE_HEADER], signBody(SECRET, r.body));
    assert.ok(verifySignature(SECRET, r.body, r.headers[SIGNATURE_HEADER] as string));
    assert.ok(!verifySignature('another-secret', r.body, r.headers[SIGNATURE_HEADER] as string));
    assert.ok(!verifySignature(SECRET, `${r.body} `, r.headers[SIGNATURE_HEADER] as string));
    const doc = JSON.parse(r.body);
    assert.deepEqual(doc.finding, { class_uid: 2004 });
    assert.equal(doc.delivery_id, r.headers[DELIVERY_HEADER]);
    assert.ok(Date.parse(doc.sent_at) > 0);
    await s.stop();
  });

  test('retries 5xx and 429 with backoff, with the same delivery id and body, until it is accepted', async () => {
    plan.set('/flaky', [503, 429, 500, 200]);
    const s = sender();
    const o = await send(s, '/flaky');
    assert.deepEqual(o, { ok: true, attempts: 4, detail: 'HTTP 200' });
    const got = of('/flaky');
    assert.equal(got.length, 4);
    assert.equal(new Set(got.map((g) => g.headers[DELIVERY_HEADER])).size, 1);
    assert.equal(new Set(got.map((g) => g.body)).size, 1);
    await s.stop();
  });

  test('gives up after maxAttempts, and does not retry a client error or follow a redirect', async () => {
    plan.set('/down', [500]);
    plan.set('/gone', [410]);
    plan.set('/moved', [302]);
    const s = sender({ maxAttempts: 3 });
    assert.deepEqual(await send(s, '/down'), { ok: false, attempts: 3, detail: 'HTTP 500' });
    assert.equal(of('/down').length, 3);
    assert.deepEqual(await send(s, '/gone'), { ok: false, attempts: 1, detail: 'HTTP 410' });
    assert.deepEqual(await send(s, '/moved'), { ok: false, attempts: 1, detail: 'HTTP 302' });
    assert.equal(of('/elsewhere').length, 0);
    await s.stop();
  });

  test('an attempt without an answer times out and is retried; a refused connection is retried', async () => {
    const s = sender({ maxAttempts: 2, timeoutMs: 200 });
    const o = await send(s, '/hang');
    assert.equal(o.ok, false);
    assert.equal(o.attempts, 2);
    assert.match(o.detail, /no answer within 200 ms/);
    const port = await freePort();
    const closed = await new Promise<WebhookOutcome>((done) =>
      s.send({ url: `http://127.0.0.1:${port}/x`, secret: SECRET, payload: {}, done }),
    );
    assert.equal(closed.ok, false);
    assert.equal(closed.attempts, 2);
    assert.match(closed.detail, /ECONNREFUSED/);
    await s.stop();
  });

  test('the queue is bounded: deliveries beyond it fail at once; stop fails the waiting ones', async () => {
    const s = sender({ maxQueued: 2, concurrency: 1, timeoutMs: 5000 });
    const first = send(s, '/hang/1');
    const second = send(s, '/hang/2');
    const third = await send(s, '/hang/3');
    assert.deepEqual(third, { ok: false, attempts: 0, detail: 'not sent: the webhook queue is full (2)' });
    assert.equal(s.pending, 2);
    await s.stop();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.ok, false);
    assert.equal(b.ok, false);
    assert.equal(b.attempts, 0);
    assert.match(b.detail, /server stopping/);
    assert.match((await send(s, '/ok')).detail, /server stopping/);
  });

  test('refuses plain http to anything but loopback, and http at all unless allowed', async () => {
    const strict = sender({ allowLoopbackHttp: false });
    const o = await send(strict, '/ok');
    assert.equal(o.ok, false);
    assert.match(o.detail, /plain http; use https/);
    const lab = sender();
    const remote = await new Promise<WebhookOutcome>((done) =>
      lab.send({ url: 'http://192.0.2.1/hook', secret: SECRET, payload: {}, done }),
    );
    assert.match(remote.detail, /not loopback; use https/);
    await strict.stop();
    await lab.stop();
  });
});
