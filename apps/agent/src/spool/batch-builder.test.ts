import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, type Event, EventBatchSchema, EventSchema, fromBinary, toBinary } from '@palisade/protocol';
import { BatchBuilder } from './batch-builder.js';

function event(i: number, argBytes: number): Event {
  return create(EventSchema, {
    classUid: 1007,
    activityId: 1,
    timeMs: BigInt(1_700_000_000_000 + i),
    process: { pid: 1000 + i, argv: ['/bin/x', 'a'.repeat(argBytes)] },
  });
}

test('the body decodes to the events added, in order, across buffer growth and varint sizes', () => {
  const b = new BatchBuilder();
  // 0 → 1-byte lengths, 200 → 2-byte, 20,000 → 3-byte; 200,000 bytes in all outgrow the 64 KiB start.
  const events = [
    event(0, 0),
    event(1, 200),
    event(2, 20_000),
    ...Array.from({ length: 50 }, (_, i) => event(3 + i, 3500)),
  ];
  for (const e of events) b.add(e, 5);
  assert.equal(b.count, events.length);
  const body = b.take();
  // Each event is tag 0x0a, its length as a varint, then its bytes.
  const varintLen = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : 3);
  const expected = events.reduce((n, e) => {
    const len = toBinary(EventSchema, e).byteLength;
    return n + 1 + varintLen(len) + len;
  }, 0);
  assert.ok(expected > 64 * 1024);
  assert.equal(body.byteLength, expected);
  const got = fromBinary(EventBatchSchema, body).events;
  assert.equal(got.length, events.length);
  got.forEach((e, i) => {
    assert.equal(e.timeMs, events[i]!.timeMs);
    assert.deepEqual(e.process?.argv, events[i]!.process?.argv);
  });
  assert.equal(b.count, 0, 'emptied');
  assert.equal(b.size, 0, 'emptied');
});

test('size is exact, and a batch after take holds only its own events (also after shrinking)', () => {
  const b = new BatchBuilder();
  for (let i = 0; i < 100; i++) b.add(event(i, 3000), i);
  const first = b.take();
  assert.equal(fromBinary(EventBatchSchema, first).events.length, 100);
  b.add(event(7, 10), 1);
  b.add(event(8, 10), 2);
  assert.equal(b.count, 2);
  const size = b.size;
  const second = b.take();
  assert.equal(second.byteLength, size);
  const got = fromBinary(EventBatchSchema, second).events;
  assert.deepEqual(
    got.map((e) => e.process?.pid),
    [1007, 1008],
  );
  assert.equal(b.take().byteLength, 0, 'an empty builder gives an empty body');
});

test('time range, first arrival and per-class counts describe the batch', () => {
  const b = new BatchBuilder();
  b.add(event(5, 1), 100);
  b.add(event(2, 1), 101);
  b.add(create(EventSchema, { classUid: 4001, activityId: 1, timeMs: 1_700_000_000_009n }), 102);
  assert.equal(b.minTimeMs, 1_700_000_000_002);
  assert.equal(b.maxTimeMs, 1_700_000_000_009);
  assert.equal(b.firstArrivalMs, 100);
  assert.deepEqual(
    [...b.byClass],
    [
      [1007, 2],
      [4001, 1],
    ],
  );
});
