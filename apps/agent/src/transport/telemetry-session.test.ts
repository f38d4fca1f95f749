// TelemetrySession against a scripted peer (a real TLS WebSocket listener): the window, bogus
// acks, flow control, ErrorFrame retries and commands.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '@palisade/common';
import {
  CommandSchema,
  EventSchema,
  type Policy,
  SensorStatsSchema,
  Tier,
  WelcomeSchema,
  create,
} from '@palisade/protocol';
import { waitFor } from '@palisade/testkit';
import { Spool } from '../spool/index.js';
import { inertHooks } from './inert-hooks.test-util.js';
import { ScriptedPeer } from './scripted-peer.test-util.js';
import { type SessionEnd, TelemetrySession } from './telemetry-session.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function setup(t: { after(fn: () => unknown): void }, maxInFlight = 2) {
  const peer = await ScriptedPeer.start();
  const dir = mkdtempSync(join(tmpdir(), 'palisade-session-'));
  dirs.push(dir);
  const spool = Spool.open({ dir, batchMaxEvents: 1 });
  const policies: Policy[] = [];
  const session = new TelemetrySession({
    url: peer.url,
    tls: { ca: peer.caPem },
    spool,
    hooks: {
      capabilities: () => [],
      stats: () => create(SensorStatsSchema, { eventsEmitted: 7n }),
      policyRevision: () => 3n,
      onPolicy: (p) => policies.push(p),
    },
    logger: silentLogger,
    maxInFlight,
    ackTimeoutMs: 60_000,
  });
  const ended = session.run();
  t.after(async () => {
    session.close('agent stopping');
    await ended;
    spool.close();
    await peer.close();
  });
  for (let i = 0; i < 5; i++) {
    spool.append(create(EventSchema, { classUid: 1007, timeMs: BigInt(i), process: { cmdLine: `e${i}` } }));
  }
  await waitFor('Hello', () => peer.frames[0]?.kind.case === 'hello');
  const welcome = (lastStoredSeq = 0n) =>
    peer.send({
      case: 'welcome',
      value: create(WelcomeSchema, { agentId: 'a1', lastStoredSeq, heartbeatIntervalS: 1 }),
    });
  const ack = (seq: number) =>
    peer.send({ case: 'ack', value: { $typeName: 'palisade.v1.Ack', seq: BigInt(seq), duplicate: false } });
  return { peer, spool, session, ended, policies, welcome, ack };
}

test('Hello comes first; batches are pipelined up to the window and leave the spool only when acked', async (t) => {
  const { peer, spool, welcome, ack } = await setup(t, 2);
  const hello = peer.frames[0]!;
  assert.equal(hello.kind.case, 'hello');
  if (hello.kind.case === 'hello') {
    assert.equal(hello.kind.value.firstUnackedSeq, 1n);
    assert.equal(hello.kind.value.policyRevision, 3n);
    assert.equal(hello.kind.value.stats?.eventsEmitted, 7n);
  }
  assert.deepEqual(peer.batchSeqs(), [], 'nothing before Welcome');
  welcome();
  await waitFor('two batches', () => peer.batchSeqs().length === 2);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(peer.batchSeqs(), [1, 2], 'the window holds at two');
  ack(2);
  await waitFor('the third batch', () => peer.batchSeqs().length === 3);
  assert.deepEqual(peer.batchSeqs(), [1, 2, 3]);
  assert.equal(spool.stats().unackedBatches, 4);
  // An ack for a batch never sent is ignored: nothing leaves the spool.
  ack(99);
  ack(5);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(spool.stats().unackedBatches, 4);
  await waitFor('a heartbeat', () => peer.frames.some((f) => f.kind.case === 'heartbeat'), 5000);
});

test('FlowControl pauses sending for pause_ms and changes the window', async (t) => {
  const { peer, welcome, ack } = await setup(t, 1);
  peer.send({ case: 'flow', value: { $typeName: 'palisade.v1.FlowControl', maxInFlight: 3, pauseMs: 600 } });
  welcome();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(peer.batchSeqs(), [], 'paused');
  await waitFor('batches after the pause', () => peer.batchSeqs().length === 3, 5000);
  ack(1);
  await waitFor('the fourth', () => peer.batchSeqs().length === 4);
});

test('a batch refused with an ErrorFrame is sent again later, nothing is dropped', async (t) => {
  const { peer, spool, welcome, ack } = await setup(t, 5);
  welcome();
  await waitFor('five batches', () => peer.batchSeqs().length === 5);
  peer.send({
    case: 'error',
    value: {
      $typeName: 'palisade.v1.ErrorFrame',
      code: 'unavailable',
      message: 'disk full',
      seq: 2n,
      fatal: false,
    },
  });
  for (const s of [1, 3, 4, 5]) ack(s);
  await waitFor('the retry of batch 2', () => peer.batchSeqs().filter((s) => s === 2).length === 2, 5000);
  assert.equal(spool.stats().unackedBatches, 1);
  ack(2);
  await waitFor('the spool to empty', () => spool.stats().unackedBatches === 0);
});

test('commands: set_policy is applied and confirmed, ping answered, unsupported actions refused', async (t) => {
  const { peer, policies, welcome } = await setup(t);
  welcome();
  peer.send({
    case: 'command',
    value: create(CommandSchema, {
      id: 'c1',
      action: {
        case: 'setPolicy',
        value: { revision: 9n, tier: Tier.SERVER, channel: 0, maintenanceWindow: 'always' },
      },
    }),
  });
  peer.send({
    case: 'command',
    value: create(CommandSchema, { id: 'c2', action: { case: 'ping', value: 'hi' } }),
  });
  peer.send({
    case: 'command',
    value: create(CommandSchema, { id: 'c3', action: { case: 'isolate', value: true } }),
  });
  const results = await waitFor('three results', () => {
    const r = peer.frames.flatMap((f) => (f.kind.case === 'commandResult' ? [f.kind.value] : []));
    return r.length === 3 ? r : undefined;
  });
  assert.deepEqual(
    results.map((r) => [r.id, r.ok]),
    [
      ['c1', true],
      ['c2', true],
      ['c3', false],
    ],
  );
  assert.match(results[2]!.message, /not supported/);
  assert.equal(policies.at(-1)?.revision, 9n);
});

test('a listener that never answers Hello ends the session in time', async (t) => {
  const peer = await ScriptedPeer.start();
  t.after(() => peer.close());
  const dir = mkdtempSync(join(tmpdir(), 'palisade-session-'));
  dirs.push(dir);
  const spool = Spool.open({ dir });
  t.after(() => spool.close());
  const session = new TelemetrySession({
    url: peer.url,
    tls: { ca: peer.caPem },
    spool,
    hooks: inertHooks(),
    logger: silentLogger,
    connectTimeoutMs: 500,
  });
  const end: SessionEnd = await session.run();
  assert.equal(end.welcomed, false);
  assert.match(end.reason, /no Welcome in time/);
});

test('a telemetry endpoint that is not wss:// is refused without connecting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-session-'));
  dirs.push(dir);
  const spool = Spool.open({ dir });
  t.after(() => spool.close());
  const session = new TelemetrySession({
    url: 'ws://127.0.0.1:9/v1/telemetry',
    tls: {},
    spool,
    hooks: inertHooks(),
    logger: silentLogger,
  });
  const end = await session.run();
  assert.equal(end.welcomed, false);
  assert.match(end.reason, /must be wss:\/\//);
});
