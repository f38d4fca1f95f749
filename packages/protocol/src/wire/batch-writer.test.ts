import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { EventSchema } from '../gen/palisade/v1/event_pb.js';
import {
  ClientFrameSchema,
  EventBatchFrameSchema,
  EventBatchSchema,
} from '../gen/palisade/v1/telemetry_pb.js';
import {
  EventBatchEncoder,
  clientFrameWithSeq,
  encodeFrameWithoutSeq,
  wrapBatchFrame,
} from './batch-writer.js';
import { fullEvent } from './wire.test-util.js';

test('EventBatchEncoder writes exactly what protobuf-es writes for the batch, batch after batch', () => {
  const enc = new EventBatchEncoder();
  for (const n of [1, 3000, 0, 2]) {
    // 3,000 events of ~700 bytes outgrow the 64 KiB start several times.
    const events = Array.from({ length: n }, (_, i) => fullEvent(i));
    for (const e of events) enc.add(e);
    assert.equal(enc.count, n);
    const expected = toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
    assert.equal(enc.size, expected.byteLength);
    assert.deepEqual(new Uint8Array(enc.take()), expected);
    assert.equal(enc.size, 0);
  }
});

test('wrapBatchFrame and clientFrameWithSeq write ClientFrames that decode to the frame', () => {
  const frame = create(EventBatchFrameSchema, {
    seq: 2n ** 40n + 3n,
    eventCount: 7,
    uncompressedSize: 300,
    crc32: 0xdeadbeef,
    payload: new Uint8Array(200).fill(7),
  });
  const wrapped = fromBinary(
    ClientFrameSchema,
    new Uint8Array(wrapBatchFrame(toBinary(EventBatchFrameSchema, frame))),
  );
  assert.equal(wrapped.kind.case, 'batch');
  assert.deepEqual(wrapped.kind.value, frame);
  const { seq: _seq, $typeName: _t, ...rest } = frame;
  const tail = encodeFrameWithoutSeq(rest);
  for (const seq of [1n, 127n, 128n, 2n ** 63n - 1n]) {
    const f = fromBinary(ClientFrameSchema, new Uint8Array(clientFrameWithSeq(seq, tail)));
    assert.deepEqual(f.kind.value, { ...frame, seq });
  }
  assert.equal(EventSchema.typeName, 'palisade.v1.Event');
});
