import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  ClientFrameSchema,
  LIMITS,
  PROTOCOL_VERSION,
  create,
  encodeBatch,
  toBinary,
} from '@palisade/protocol';
import {
  BatchRefused,
  SimulatedAgent,
  makeProcessEvent,
  prepareBatch,
  prepareFrame,
} from '@palisade/testkit';
import WebSocket from 'ws';
import { type TestServer, startTestServer } from '../testing/harness.js';

const events = (n: number, from = 0, marker?: string) =>
  Array.from({ length: n }, (_, i) => makeProcessEvent(from + i, marker ? { marker } : {}));

async function refusedCode(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('batch should have been refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof BatchRefused, String(err));
  return err.frame.code;
}

describe('telemetry service (WSS, mutual TLS)', () => {
  let t: TestServer;
  const register = () =>
    SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
  const agents: SimulatedAgent[] = [];
  const connected = async () => {
    const a = await register();
    agents.push(a);
    await a.connect();
    return a;
  };
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    for (const a of agents) await a.close();
    await t.stop();
  });

  test('a batch is stored, then acked; the same seq again is acked as duplicate and stored once', async () => {
    const a = await connected();
    const ack = await a.sendBatch(events(5, 0, 'first-batch'));
    assert.equal(ack.seq, 1n);
    assert.equal(ack.duplicate, false);
    assert.equal(await t.server.storage.countEvents(a.agentId), 5);
    const again = await a.sendBatch(events(5, 0, 'first-batch'), 1n);
    assert.equal(again.seq, 1n);
    assert.equal(again.duplicate, true);
    assert.equal(await t.server.storage.countEvents(a.agentId), 5);
    const page = await t.server.storage.searchEvents({
      agentId: a.agentId,
      contains: 'first-batch',
      limit: 10,
    });
    assert.equal(page.events.length, 5);
  });

  test('the same seq sent twice before the first is stored: one stored ack, one duplicate ack, stored once', async () => {
    const a = await connected();
    const batch = prepareBatch(events(7, 0, 'twice'));
    const [first, second] = await Promise.all([a.sendBatch(batch, 1n), a.sendBatch(batch, 1n)]);
    assert.deepEqual([first.duplicate, second.duplicate], [false, true]);
    assert.equal(await t.server.storage.countEvents(a.agentId), 7);
  });

  test('a storage failure is answered with unavailable and never acked', async () => {
    const local = await startTestServer();
    try {
      const a = await SimulatedAgent.register({
        registrationUrl: local.server.registrationUrl,
        registrationKey: local.registrationKey,
        caPem: local.server.caPem,
      });
      await a.connect();
      assert.equal((await a.sendBatch(events(2))).duplicate, false);
      await local.server.storage.close();
      assert.equal(await refusedCode(a.sendBatch(events(2, 2))), 'unavailable');
      await a.close();
    } finally {
      await local.stop().catch(() => {});
    }
  });

  test('Welcome on reconnect carries the last stored seq; the new connection replaces the old', async () => {
    const a = await connected();
    for (let i = 0; i < 3; i++) await a.sendBatch(events(2, i * 2));
    const twin = new SimulatedAgent(a.identity);
    agents.push(twin);
    const welcome = await twin.connect();
    assert.equal(welcome.agentId, a.agentId);
    assert.equal(welcome.lastStoredSeq, 3n);
    assert.equal(await a.closed(), 4000);
    const s = t.server.sessions.get(a.agentId);
    assert.ok(s);
    assert.equal(t.server.sessions.state(a.agentId).state, 'connected');
  });

  test('bad batches get an ErrorFrame, nothing is stored, the connection stays usable, another agent streams meanwhile', async () => {
    const bad = await connected();
    const good = await connected();
    // The other agent streams the whole time.
    let streaming = true;
    const streamer = (async () => {
      let acked = 0;
      for (let i = 0; streaming && i < 500; i++) {
        const ack = await good.sendBatch(events(10, i * 10));
        assert.equal(ack.duplicate, false);
        acked++;
      }
      return acked;
    })();

    const ok = encodeBatch(1n, events(4));
    const codes: string[] = [];
    codes.push(await refusedCode(bad.sendBatch(prepareFrame({ ...ok, crc32: ok.crc32 ^ 1 }))));
    const truncated = ok.payload.subarray(0, Math.floor(ok.payload.byteLength / 2));
    codes.push(
      await refusedCode(bad.sendBatch(prepareFrame({ ...ok, payload: truncated, crc32: crc32(truncated) }))),
    );
    // A bomb: tiny payload claiming 1 GiB when decompressed.
    const bomb = Buffer.from(ok.payload);
    bomb.writeUInt32LE(1 << 30, 0);
    codes.push(
      await refusedCode(
        bad.sendBatch(prepareFrame({ ...ok, payload: bomb, crc32: crc32(bomb), uncompressedSize: 1 << 30 })),
      ),
    );
    codes.push(await refusedCode(bad.sendBatch(prepareFrame({ ...ok, eventCount: ok.eventCount + 1 }))));
    assert.deepEqual(codes, ['bad_checksum', 'bad_compression', 'too_large', 'count_mismatch']);

    // Garbage that is not a ClientFrame at all (wire type 7 does not exist).
    bad.sendFrame(new Uint8Array([0x0f, 0x01, 0x02, 0x03]));
    assert.equal((await bad.nextError()).code, 'bad_request');
    bad.sendFrame('text is not a frame');
    assert.equal((await bad.nextError()).code, 'bad_request');
    assert.equal(await t.server.storage.countEvents(bad.agentId), 0);

    // Still usable after all that.
    const fine = await bad.sendBatch(events(3, 0, 'after-errors'));
    assert.equal(fine.duplicate, false);
    assert.equal(await t.server.storage.countEvents(bad.agentId), 3);

    // An oversized WebSocket message closes the connection with 1009; the agent can reconnect.
    bad.sendFrame(new Uint8Array(LIMITS.maxFrameBytes + 16));
    assert.equal(await bad.closed(), 1009);
    await bad.connect();
    assert.equal((await bad.sendBatch(events(1, 100))).duplicate, false);
    assert.equal(await t.server.storage.countEvents(bad.agentId), 4);

    streaming = false;
    const acked = await streamer;
    assert.ok(acked > 0);
    assert.equal(await t.server.storage.countEvents(good.agentId), acked * 10);
  });

  test('the first frame must be Hello with a protocol version the server speaks (fatal ErrorFrame + 1002)', async () => {
    const a = await register();
    agents.push(a);
    await assert.rejects(a.connect({ protocolVersion: 99 }), /unsupported_protocol_version/);
    assert.equal(await a.closed(), 1002);
    assert.equal(t.server.sessions.state(a.agentId).state, 'disconnected');
  });

  const rawUpgrade = (o: WebSocket.ClientOptions) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(t.server.telemetryUrl, { ca: t.server.caPem, ...o });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.on('open', () => {
        ws.terminate();
        reject(new Error('upgrade should have been refused'));
      });
      ws.on('error', reject);
    });

  test('the upgrade is refused with 401 without a certificate, and for a revoked agent', async () => {
    assert.equal(await rawUpgrade({}), 401);
    const a = await register();
    await t.server.storage.updateAgent(a.agentId, { revokedAt: Date.now() });
    assert.equal(await rawUpgrade({ cert: a.identity.certPem, key: a.identity.keyPem }), 401);
  });

  test('heartbeats update stats and last seen (coalesced)', async () => {
    const a = await connected();
    a.sendHeartbeat({ eventsEmitted: 77n, spoolDepth: 5n }, 1n);
    let stats: Record<string, number | string> = {};
    for (let i = 0; i < 50 && stats.eventsEmitted !== 77; i++) {
      await new Promise((r) => setTimeout(r, 50));
      stats = (await t.server.storage.getAgent(a.agentId))!.stats;
    }
    assert.equal(stats.eventsEmitted, 77);
    assert.equal(stats.spoolDepth, 5);
  });

  test('many agents pipelining share group commits; every batch is acked', async () => {
    const many = await Promise.all(Array.from({ length: 10 }, () => connected()));
    const before = t.server.ingestStats();
    const prepared = prepareBatch(events(50));
    const acks = await Promise.all(
      many.flatMap((a) => Array.from({ length: 20 }, () => a.sendBatch(prepared))),
    );
    assert.equal(acks.length, 200);
    assert.ok(acks.every((x) => !x.duplicate));
    const after = t.server.ingestStats();
    assert.equal(after.batches - before.batches, 200);
    assert.ok(
      after.commits - before.commits < 200,
      `commits ${after.commits - before.commits} for 200 batches`,
    );
    for (const a of many) assert.equal(await t.server.storage.countEvents(a.agentId), 1000);
  });
});

describe('telemetry back-pressure', () => {
  test('with a tiny queue cap every batch is still stored and acked (senders pause, nothing dropped)', async () => {
    const t = await startTestServer({ ingest: { maxQueuedBytes: 1, maxInFlight: 16 } });
    const list: SimulatedAgent[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const a = await SimulatedAgent.register({
          registrationUrl: t.server.registrationUrl,
          registrationKey: t.registrationKey,
          caPem: t.server.caPem,
        });
        list.push(a);
        await a.connect({ window: 16 });
      }
      const prepared = prepareBatch(events(20));
      const acks = await Promise.all(
        list.flatMap((a) => Array.from({ length: 30 }, () => a.sendBatch(prepared))),
      );
      assert.equal(acks.length, 120);
      for (const a of list) assert.equal(await t.server.storage.countEvents(a.agentId), 600);
    } finally {
      for (const a of list) await a.close();
      await t.stop();
    }
  });
});

describe('telemetry liveness', () => {
  test('a connection that stops answering pings is cut and leaves the session table; a live one stays', async () => {
    const t = await startTestServer({ livenessIntervalMs: 150 });
    const live = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
    const dead = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
    await live.connect();
    // A client that never answers pings, like a host that vanished.
    const ws = new WebSocket(t.server.telemetryUrl, {
      ca: t.server.caPem,
      cert: dead.identity.certPem,
      key: dead.identity.keyPem,
      autoPong: false,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => {
          ws.send(
            toBinary(
              ClientFrameSchema,
              create(ClientFrameSchema, {
                kind: { case: 'hello', value: { protocolVersion: PROTOCOL_VERSION } },
              }),
            ),
          );
        });
        ws.once('message', () => resolve());
        ws.on('error', reject);
      });
      assert.equal(t.server.sessions.state(dead.agentId).state, 'connected');
      const code = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('silent connection was not cut')), 5000);
        ws.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(code, 1006);
      // The client sees the cut first; the server's own close handling follows a moment later.
      for (let i = 0; i < 100 && t.server.sessions.state(dead.agentId).state !== 'disconnected'; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(t.server.sessions.state(dead.agentId).state, 'disconnected');
      assert.equal(t.server.sessions.state(live.agentId).state, 'connected');
      assert.equal((await live.sendBatch(events(1))).duplicate, false);
    } finally {
      ws.terminate();
      await live.close();
      await t.stop();
    }
  });
});
