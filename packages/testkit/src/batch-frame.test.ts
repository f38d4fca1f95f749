import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ClientFrameSchema,
  decodeBatch,
  encodeBatch,
  fromBinary,
  toBinary,
  create,
} from '@palisade/protocol';
import { batchClientFrame, prepareBatch } from './batch-frame.js';
import { makeProcessEvent } from './events.js';

test('a pre-encoded batch frame equals the generic encoding for any sequence number', () => {
  const events = Array.from({ length: 25 }, (_, i) => makeProcessEvent(i, { marker: `m${i}` }));
  const prepared = prepareBatch(events);
  for (const seq of [1n, 127n, 128n, 300n, 2n ** 35n, 2n ** 63n - 1n]) {
    const fast = batchClientFrame(seq, prepared);
    const generic = toBinary(
      ClientFrameSchema,
      create(ClientFrameSchema, { kind: { case: 'batch', value: encodeBatch(seq, events) } }),
    );
    assert.deepEqual(fast, generic, `seq ${seq}`);
    const frame = fromBinary(ClientFrameSchema, fast);
    assert.equal(frame.kind.case, 'batch');
    if (frame.kind.case === 'batch') {
      assert.equal(frame.kind.value.seq, seq);
      assert.deepEqual(decodeBatch(frame.kind.value), events);
    }
  }
});

test('makeProcessEvent is deterministic and realistic', () => {
  const a = makeProcessEvent(3);
  assert.deepEqual(a, makeProcessEvent(3));
  assert.equal(a.classUid, 1007);
  assert.equal(a.activityId, 1);
  assert.ok(a.process?.argv.length);
  assert.equal(a.process?.cmdLine, a.process?.argv.join(' '));
  assert.ok(a.process?.parent?.pid);
  const exit = makeProcessEvent(3, { activityId: 2 });
  assert.equal(exit.hasExitCode, true);
});
