import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { create } from '@bufbuild/protobuf';
import { compressSync } from 'lz4-napi';
import { decodeBatch, encodeBatch, FrameError } from './framing.js';
import { EventSchema } from './gen/palisade/v1/event_pb.js';
import { EventBatchFrameSchema } from './gen/palisade/v1/telemetry_pb.js';
import { LIMITS } from './limits.js';
import { checkProtocolVersion, PROTOCOL_VERSION, ProtocolVersionError } from './version.js';

const events = Array.from({ length: 50 }, (_, i) =>
  create(EventSchema, {
    classUid: 1007,
    activityId: 1,
    timeMs: BigInt(1_700_000_000_000 + i),
    process: { pid: 100 + i, path: '/bin/echo', cmdLine: `/bin/echo ${i}`, argv: ['/bin/echo', String(i)] },
  }),
);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FrameError, `expected FrameError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a FrameError');
}

test('a batch round-trips through LZ4 and crc32 framing', () => {
  const frame = encodeBatch(7n, events);
  assert.equal(frame.seq, 7n);
  assert.equal(frame.eventCount, 50);
  assert.ok(frame.payload.byteLength < frame.uncompressedSize, 'payload is compressed');
  const back = decodeBatch(frame);
  assert.equal(back.length, 50);
  assert.equal(back[49]!.process!.cmdLine, '/bin/echo 49');
});

test('a flipped bit is caught by the checksum before decompression', () => {
  const frame = encodeBatch(1n, events);
  const payload = new Uint8Array(frame.payload);
  payload[payload.length - 1]! ^= 0x01;
  assert.equal(
    codeOf(() => decodeBatch({ ...frame, payload })),
    'bad_checksum',
  );
});

test('a truncated payload with a matching checksum is refused as bad compression', () => {
  const frame = encodeBatch(1n, events);
  const payload = frame.payload.subarray(0, frame.payload.length - 10);
  assert.equal(
    codeOf(() => decodeBatch({ ...frame, payload, crc32: crc32(payload) })),
    'bad_compression',
  );
});

test('a decompression bomb is refused from its declared size, before decompression', () => {
  const frame = encodeBatch(1n, events);
  assert.equal(
    codeOf(() => decodeBatch({ ...frame, uncompressedSize: LIMITS.maxBatchBytes + 1 })),
    'too_large',
  );
  // The LZ4 block itself claims 1 GiB while the frame claims little: refused, nothing allocated.
  const lying = Buffer.from(frame.payload);
  lying.writeUInt32LE(1 << 30, 0);
  assert.equal(
    codeOf(() => decodeBatch({ ...frame, payload: lying, crc32: crc32(lying) })),
    'bad_compression',
  );
});

test('event count, sequence and payload are checked', () => {
  const frame = encodeBatch(1n, events);
  assert.equal(
    codeOf(() => decodeBatch({ ...frame, eventCount: 49 })),
    'count_mismatch',
  );
  assert.equal(
    codeOf(() => decodeBatch({ ...frame, seq: 0n })),
    'bad_seq',
  );
  const garbage = compressSync(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  const g = create(EventBatchFrameSchema, {
    seq: 1n,
    eventCount: 1,
    uncompressedSize: 6,
    crc32: crc32(garbage),
    payload: garbage,
  });
  assert.equal(
    codeOf(() => decodeBatch(g)),
    'bad_payload',
  );
});

test('protocol versions other than the supported ones are refused with both versions named', () => {
  checkProtocolVersion(PROTOCOL_VERSION);
  assert.throws(
    () => checkProtocolVersion(99),
    (err: unknown) => {
      assert.ok(err instanceof ProtocolVersionError);
      assert.match(err.message, /99/);
      assert.match(err.message, new RegExp(String(PROTOCOL_VERSION)));
      return true;
    },
  );
});
