// Bounded listeners (ListenerLimits): slowloris-style clients on loopback, bounded in count and
// time, against a real server; registered agents keep streaming and checking in meanwhile.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { makeProcessEvent, RegistrationRefused, SimulatedAgent, sleep, waitFor } from '@palisade/testkit';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { type ListenerLimits, SILENT_GRACE_MS } from './listener-limits.js';
import { type Attack, type AttackSpec, slowloris } from './slowloris.test-util.js';

const portOf = (url: string) => Number(new URL(url).port);

/** post sends one HTTPS POST from `localAddress` and resolves with its status and Retry-After. */
function post(
  url: string,
  ca: string,
  localAddress = '127.0.0.1',
): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/x-protobuf' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
    req.end(Buffer.alloc(0));
  });
}

describe('listeners under slowloris: timeouts and caps on registration/API, telemetry and standby', () => {
  const limits: Partial<ListenerLimits> = {
    handshakeTimeoutMs: 1000,
    headersTimeoutMs: 1500,
    requestTimeoutMs: 2500,
    idleTimeoutMs: 5000,
    helloTimeoutMs: 1000,
    maxConnections: 400,
    maxUnauthenticated: 100,
    maxUnauthenticatedPerAddress: 1000,
    registrationMaxConnections: 400,
    registrationMaxUnauthenticated: 100,
  };
  let t: TestServer;
  const attacks: Attack[] = [];
  before(async () => {
    t = await startTestServer({ limits });
  });
  after(async () => {
    for (const a of attacks) await a.stop();
    await t?.stop();
  });

  test('silent and trickling clients on all three listeners are capped and closed in time; agents stream and check in throughout', async () => {
    const reg = {
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    };
    const streaming = await SimulatedAgent.register(reg);
    const late = await SimulatedAgent.register(reg);
    await streaming.connect();
    const ports = {
      registration: portOf(t.server.registrationUrl),
      telemetry: portOf(t.server.telemetryUrl),
      standby: portOf(t.server.standbyUrl),
    };
    // 300 hostile connections per listener from eight other addresses: half never start TLS,
    // half finish it and trickle a request that never ends.
    const from = (i: number) => `127.0.0.${2 + (i % 8)}`;
    const specs: AttackSpec[] = [];
    let n = 0;
    for (const [name, port] of Object.entries(ports)) {
      const request =
        name === 'registration'
          ? 'POST /v1/register HTTP/1.1\r\nHost: palisade\r\nContent-Type: application/x-protobuf\r\nX-Padding: '
          : undefined;
      for (let k = 0; k < 10; k++) {
        specs.push({ port, count: 15, kind: 'silent', localAddress: from(n++) });
        specs.push({
          port,
          count: 15,
          kind: 'trickle',
          localAddress: from(n++),
          ...(request ? { request } : {}),
        });
      }
    }
    const attack = await slowloris(...specs);
    attacks.push(attack);
    await attack.counted(900);
    const started = Date.now();
    // And a stream of new silent ones while the agents work (about 100 a second per listener).
    let waves = 0;
    const wave = setInterval(() => {
      for (const port of Object.values(ports))
        attack.add({ port, count: 5, kind: 'silent', localAddress: from(n++) });
      waves += 15;
    }, 50);
    let worst = 0;
    const sampler = setInterval(() => {
      const s = t.server.connectionStats();
      worst = Math.max(
        worst,
        s.registration.unauthenticated,
        s.telemetry.unauthenticated,
        s.standby?.unauthenticated ?? 0,
      );
    }, 20);
    let sent = 0;
    try {
      // Meanwhile: the connected agent streams, a registered one connects (to the standby) and
      // both check in. They are on 127.0.0.1, where an agent has authenticated before.
      await late.connect({ url: t.server.standbyUrl });
      while (sent < 5 || Date.now() - started < 2500) {
        await Promise.all([
          streaming.sendBatch([makeProcessEvent(sent)]),
          late.sendBatch([makeProcessEvent(sent)]),
          streaming.checkIn(),
          late.checkIn(),
        ]);
        sent += 1;
      }
    } finally {
      clearInterval(wave);
      clearInterval(sampler);
    }
    assert.equal(await t.server.storage.countEvents(streaming.agentId), sent);
    assert.equal(await t.server.storage.countEvents(late.agentId), sent);
    // The unauthenticated pools never held more than their cap.
    assert.ok(worst <= 100, `an unauthenticated pool held ${worst} connections; its cap is 100`);
    // Every hostile connection is closed by the server: refused, pushed out, or timed out
    // (handshake 1 s, headers 1.5 s, checked every second); none is left for long (the old
    // defaults held them for 120 s and 60 s).
    await attack.counted(900 + waves);
    await waitFor(
      'every slowloris connection to be closed by the server',
      () => attack.closed() === attack.opened(),
      15_000,
    ).catch((err) => {
      throw new Error(
        `${err.message} (${attack.opened() - attack.closed()} of ${attack.opened()} still open)`,
      );
    });
    const stats = t.server.connectionStats();
    assert.equal(
      stats.telemetry.unauthenticated +
        stats.registration.unauthenticated +
        (stats.standby?.unauthenticated ?? 0),
      0,
    );
    // The agents' own connections were never touched.
    await streaming.sendBatch([makeProcessEvent(1000)]);
    await late.sendBatch([makeProcessEvent(1001)]);
    await streaming.close();
    await late.close();
  });

  test('a request whose body trickles in is cut at the request timeout', async () => {
    const socket = tlsConnect({
      port: portOf(t.server.registrationUrl),
      host: '127.0.0.1',
      rejectUnauthorized: false,
    });
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.once('secureConnect', () => r()));
    const started = Date.now();
    // An authenticated API call (so the route guard lets it reach body parsing) whose body never ends.
    socket.write(
      `POST /api/v1/keys HTTP/1.1\r\nHost: palisade\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{`,
    );
    const trickle = setInterval(() => socket.write(' '), 100);
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    try {
      await new Promise<void>((r) => socket.once('close', () => r()));
    } finally {
      clearInterval(trickle);
    }
    const ms = Date.now() - started;
    assert.match(answer, /^HTTP\/1.1 408/);
    // (The old defaults let it run for 300 s.)
    assert.ok(
      ms >= 2000 && ms < 15_000,
      `the trickling request was cut after ${ms} ms; request timeout 2.5 s`,
    );
    assert.equal((await t.api('GET', '/api/v1/keys')).json.keys.length, 1, 'no key was made');
  });

  test('an agent that opens its WebSocket and never says Hello is closed at the Hello timeout', async () => {
    const a = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
    const ws = new WebSocket(t.server.telemetryUrl, {
      ca: a.identity.caPem,
      cert: a.identity.certPem,
      key: a.identity.keyPem,
    });
    ws.on('error', () => {});
    await new Promise<void>((r) => ws.once('open', () => r()));
    const opened = Date.now();
    const code = await new Promise<number>((r) => ws.once('close', (c: number) => r(c)));
    const ms = Date.now() - opened;
    assert.equal(code, 1008);
    assert.ok(ms >= 800 && ms < 10_000, `closed after ${ms} ms; Hello timeout 1 s`);
  });
});

describe('connection caps: per address, and authenticated agents up to the full cap', () => {
  test('one address flooding unauthenticated connections is held to its own share; others keep theirs', async () => {
    const t = await startTestServer({
      limits: { maxUnauthenticatedPerAddress: 10, maxUnauthenticated: 100, handshakeTimeoutMs: 30_000 },
    });
    const port = portOf(t.server.telemetryUrl);
    const attacks: Attack[] = [];
    try {
      const bystander = await slowloris({ port, count: 10, kind: 'silent', localAddress: '127.0.0.6' });
      attacks.push(bystander);
      await waitFor(
        'the bystander connections to be admitted',
        () => t.server.connectionStats().telemetry.open === 10,
      );
      const flood = await slowloris({ port, count: 40, kind: 'silent', localAddress: '127.0.0.5' });
      attacks.push(flood);
      await waitFor('30 of the flood to be turned away', () => flood.closed() === 30, 5000);
      await sleep(200);
      assert.equal(flood.closed(), 30, 'the flooding address keeps 10');
      assert.equal(bystander.closed(), 0, 'the other address keeps all of its connections');
      assert.equal(t.server.connectionStats().telemetry.unauthenticated, 20);
    } finally {
      for (const a of attacks) await a.stop();
      await t.stop();
    }
  });

  test('agents get in up to maxConnections while a flood fills the unauthenticated share', async () => {
    const t = await startTestServer({
      limits: {
        maxConnections: 40,
        maxUnauthenticated: 10,
        maxUnauthenticatedPerAddress: 1000,
        handshakeTimeoutMs: 30_000,
      },
    });
    const attacks: Attack[] = [];
    const agents: SimulatedAgent[] = [];
    try {
      const reg = {
        registrationUrl: t.server.registrationUrl,
        registrationKey: t.registrationKey,
        caPem: t.server.caPem,
      };
      agents.push(...(await Promise.all(Array.from({ length: 35 }, () => SimulatedAgent.register(reg)))));
      attacks.push(
        await slowloris({
          port: portOf(t.server.telemetryUrl),
          count: 100,
          kind: 'silent',
          localAddress: '127.0.0.3',
        }),
      );
      await waitFor(
        'the flood to fill the unauthenticated share',
        () => t.server.connectionStats().telemetry.unauthenticated === 10,
      );
      // A connection that has said nothing for a second may be pushed out by a newcomer: the
      // first agent, from an address no agent has used yet, gets in that way.
      await sleep(SILENT_GRACE_MS + 200);
      await agents[0]!.connect();
      // From then on its address is trusted: 34 more get in at once, beyond the unauthenticated
      // share, up to the listener's cap (pushing out the flood to make room).
      await Promise.all(agents.slice(1).map((a) => a.connect()));
      const s = t.server.connectionStats().telemetry;
      assert.equal(t.server.sessions.size, 35, 'every agent is connected');
      assert.equal(s.open, 40, 'the listener is at its cap: 35 agents and 5 of the flood');
      assert.ok(s.open <= 40, `${s.open} connections open; the cap is 40`);
      assert.ok(s.unauthenticated <= 10);
      for (const a of agents) await a.sendBatch([makeProcessEvent(1)]);
    } finally {
      for (const a of agents) await a.close();
      for (const a of attacks) await a.stop();
      await t.stop();
    }
  });
});

describe('registration rate per source address', () => {
  test('beyond the burst an address gets 429 with Retry-After; another address is not affected', async () => {
    const t = await startTestServer({ limits: { registrationBurst: 3, registrationPerMinute: 1 } });
    try {
      const url = `${t.server.registrationUrl}/v1/register`;
      for (let i = 0; i < 3; i++) {
        const r = await post(url, t.server.caPem);
        assert.notEqual(r.status, 429, `request ${i + 1} of the burst`);
      }
      const limited = await post(url, t.server.caPem);
      assert.equal(limited.status, 429);
      assert.ok(
        Number(limited.retryAfter) >= 1 && Number(limited.retryAfter) <= 60,
        `Retry-After: ${limited.retryAfter}`,
      );
      // A real agent from the same address is told so, with the code that says "later".
      await assert.rejects(
        SimulatedAgent.register({
          registrationUrl: t.server.registrationUrl,
          registrationKey: t.registrationKey,
          caPem: t.server.caPem,
        }),
        (e: unknown) => e instanceof RegistrationRefused && e.status === 429 && e.code === 'rate_limited',
      );
      const other = await post(url, t.server.caPem, '127.0.0.2');
      assert.notEqual(other.status, 429, 'another address has its own bucket');
    } finally {
      await t.stop();
    }
  });
});
