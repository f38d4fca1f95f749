import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ClientFrameSchema,
  EventBatchFrameSchema,
  EventSchema,
  create,
  decodeBatch,
  encodeBatch,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import { wrapBatchFrame } from './batch-frame.js';

test('a wrapped stored frame decodes as a ClientFrame carrying the same batch', () => {
  for (const n of [0, 1, 50, 3000]) {
    const events = Array.from({ length: n }, (_, i) =>
      create(EventSchema, { classUid: 1007, process: { cmdLine: `x${i}`.repeat(i % 7) } }),
    );
    const frame = encodeBatch(7n, events);
    const wrapped = wrapBatchFrame(toBinary(EventBatchFrameSchema, frame));
    const cf = fromBinary(ClientFrameSchema, wrapped);
    assert.equal(cf.kind.case, 'batch');
    if (cf.kind.case !== 'batch') return;
    assert.equal(cf.kind.value.seq, 7n);
    assert.equal(decodeBatch(cf.kind.value).length, n);
  }
});
