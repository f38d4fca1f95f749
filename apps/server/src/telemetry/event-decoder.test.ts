import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Event, EventBatchSchema, EventSchema, create, fromBinary, toBinary } from '@palisade/protocol';
import { makeProcessEvent } from '@palisade/testkit';
import { checkEventBatch, decodeEventBatch } from './event-decoder.js';

type Desc = typeof EventSchema;
type AnyMessage = Record<string, unknown>;

/**
 * fill sets every field of a message (recursively, two levels deep) to a distinctive non-default
 * value, by walking the schema: a field added to the .proto is filled too, so the decoder under
 * test must know it or the comparison below fails.
 */
function fill(schema: Desc, depth: number, salt: number): AnyMessage {
  const m: AnyMessage = {};
  let n = salt;
  for (const f of schema.fields) {
    n++;
    if (f.fieldKind === 'message') {
      if (depth < 2)
        m[f.localName] = create(f.message as Desc, fill(f.message as Desc, depth + 1, n * 7) as never);
    } else if (f.fieldKind === 'list' && f.listKind === 'scalar') {
      m[f.localName] = [`${f.localName}-a-${n}`, `ünïcødé ✓ ${n}`];
    } else if (f.fieldKind === 'scalar' || f.fieldKind === 'enum') {
      m[f.localName] = scalarValue(f.fieldKind === 'enum' ? 13 : (f.scalar as number), n);
    } else {
      throw new Error(`test does not know how to fill ${f.localName} (${f.fieldKind})`);
    }
  }
  return m;
}

function scalarValue(type: number, n: number): unknown {
  switch (type) {
    case 9: // string
      return `s${n}-/usr/bin/💡`;
    case 8: // bool
      return true;
    case 13: // uint32
      return 4_000_000_000 - n;
    case 5: // int32
      return -n;
    case 3: // int64
      return -(2n ** 40n) - BigInt(n);
    case 4: // uint64
      return 2n ** 63n + BigInt(n);
    default:
      throw new Error(`scalar type ${type} not covered by the test (and probably not by the decoder)`);
  }
}

/** defined drops properties whose value is undefined (the fast decoder declares unset message fields). */
function defined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(defined);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, defined(x)]),
    );
  }
  return v;
}

function roundTrip(events: Event[]): void {
  const body = toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
  const expected = fromBinary(EventBatchSchema, body).events;
  const actual = decodeEventBatch(body);
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.deepEqual(
      toBinary(EventSchema, actual[i]!),
      toBinary(EventSchema, expected[i]!),
      `event ${i} re-encodes equal`,
    );
    assert.deepEqual(defined(actual[i]), defined(expected[i]), `event ${i} is the same object tree`);
  }
}

test('every field of every event message decodes exactly as the generic decoder does', () => {
  const full = create(EventSchema, fill(EventSchema, 0, 0) as never);
  roundTrip([full]);
  // Zero values everywhere, and a mixed batch.
  roundTrip([create(EventSchema, {}), full, create(EventSchema, { classUid: 1007 })]);
});

test('realistic process events, negative exit codes and small/huge 64-bit numbers', () => {
  const events = Array.from({ length: 300 }, (_, i) => makeProcessEvent(i, { activityId: i % 2 ? 2 : 1 }));
  events.push(create(EventSchema, { exitCode: -1, hasExitCode: true, timeMs: -5n }));
  events.push(create(EventSchema, { process: { cgroupId: 2n ** 64n - 1n, createdTimeMs: 1n } }));
  roundTrip(events);
});

test('checkEventBatch sees the same events without their text', () => {
  const events = Array.from({ length: 20 }, (_, i) => makeProcessEvent(i));
  const body = toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
  const checked = checkEventBatch(body);
  assert.equal(checked.length, 20);
  assert.equal(checked[3]!.process?.pid, events[3]!.process?.pid);
  assert.equal(checked[3]!.process?.cmdLine, '');
  assert.equal(checked[3]!.process?.argv.length, events[3]!.process?.argv.length);
});

test('a message field sent twice is merged, as protobuf requires', () => {
  const a = toBinary(EventSchema, create(EventSchema, { process: { pid: 7, argv: ['a'] } }));
  const b = toBinary(EventSchema, create(EventSchema, { process: { cwd: '/tmp', argv: ['b'] } }));
  const event = new Uint8Array([...a, ...b]);
  const body = new Uint8Array([0x0a, event.length, ...event]);
  assert.deepEqual(defined(decodeEventBatch(body)), defined(fromBinary(EventBatchSchema, body).events));
  assert.deepEqual(decodeEventBatch(body)[0]!.process?.argv, ['a', 'b']);
});

test('malformed input throws instead of returning partial events', () => {
  const body = toBinary(EventBatchSchema, create(EventBatchSchema, { events: [makeProcessEvent(1)] }));
  for (const cut of [1, 5, body.length - 3]) {
    assert.throws(() => decodeEventBatch(body.subarray(0, cut)), /truncated|runs past/);
  }
  assert.throws(() => decodeEventBatch(new Uint8Array([0x0f, 0x00])), /wire type/);
  for (const cut of [1, 5, body.length - 3]) {
    assert.throws(() => checkEventBatch(body.subarray(0, cut)), /truncated|runs past/);
  }
  assert.throws(() => checkEventBatch(new Uint8Array([0x0a, 0x03, 0x0a, 0x01, 0x41])), /wire type/);
  // A known field with the wrong wire type (class_uid as a string).
  assert.throws(() => decodeEventBatch(new Uint8Array([0x0a, 0x03, 0x0a, 0x01, 0x41])), /wire type/);
});
