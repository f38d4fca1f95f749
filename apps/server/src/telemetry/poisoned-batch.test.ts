// One enrolled agent must not be able to break search for the fleet: batches that a reader could
// not decode (field number 0, invalid UTF-8, Process.parent nested without end) are refused at
// ingest, and a stored batch that cannot be decoded (stored under an older rule, or damaged) is
// skipped and reported by the events API instead of failing every page that reaches it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeBatchBody } from '@palisade/protocol';
import {
  BatchRefused,
  SimulatedAgent,
  makeProcessEvent,
  prepareBatch,
  prepareFrame,
} from '@palisade/testkit';
import { startTestServer } from '../testing/harness.js';

function lenField(no: number, bytes: number[]): number[] {
  const out = [(no << 3) | 2];
  let n = bytes.length;
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return [...out, ...bytes];
}

/** One event whose process has `depth` ancestors (Event.process = 10, Process.parent = 12). */
function deepParents(depth: number): number[] {
  let p = [0x08, 0x01];
  for (let i = 0; i < depth; i++) p = lenField(12, p);
  return lenField(1, lenField(10, p));
}

const POISON: Record<string, number[]> = {
  'field number 0': lenField(1, [0x00, 0x00]),
  'invalid UTF-8 in process.cmd_line': lenField(1, lenField(10, lenField(6, [0x2f, 0xff, 0xfe]))),
  'Process.parent nested 2,000 deep': deepParents(2000),
};

test('poisoned batches are refused at ingest, and search keeps answering', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const rogue = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  await rogue.connect();
  t.after(() => rogue.close());
  for (const [what, body] of Object.entries(POISON)) {
    const frame = encodeBatchBody(1n, 1, Uint8Array.from(body));
    await assert.rejects(
      rogue.sendBatch(prepareFrame(frame)),
      (e: unknown) => e instanceof BatchRefused && e.frame.code === 'bad_payload',
      `${what}: refused as bad_payload`,
    );
  }
  const ack = await rogue.sendBatch(prepareBatch([makeProcessEvent(1, { marker: 'after-poison' })]));
  assert.equal(ack.duplicate, false, 'the connection keeps working for good batches');
  const r = await srv.api('GET', '/api/v1/events?limit=100');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.events.length, 1);
  assert.deepEqual(r.json.skipped, []);
  assert.equal(await srv.server.storage.countEvents(rogue.agentId), 1, 'nothing of the poison was stored');
});

test('a stored batch that cannot be decoded is skipped and reported with its agent and sequence', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const agent = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  await agent.connect();
  t.after(() => agent.close());
  await agent.sendBatch(prepareBatch([makeProcessEvent(1, { marker: 'good-before' })]));
  // A batch an older server stored under a laxer rule: what it stored, as it stored it.
  await srv.server.storage.storeBatches([
    {
      agentId: agent.agentId,
      seq: 2n,
      events: [],
      receivedAt: Date.now(),
      body: Uint8Array.from(POISON['invalid UTF-8 in process.cmd_line']!),
      index: { count: 1, minTimeMs: 1n, maxTimeMs: 1n, kinds: ['1007.1'], text: '/\ufffd' },
    },
  ]);
  agent.nextSeq = 3n;
  await agent.sendBatch(prepareBatch([makeProcessEvent(2, { marker: 'good-after' })]));
  for (let i = 0; i < 3; i++) {
    const r = await srv.api('GET', '/api/v1/events?limit=100');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.events.length, 2, 'the events of the good batches around it');
    assert.equal(r.json.skipped.length, 1);
    assert.equal(r.json.skipped[0].agent_id, agent.agentId);
    assert.equal(r.json.skipped[0].seq, '2');
    assert.match(r.json.skipped[0].reason, /UTF-8/);
  }
});
