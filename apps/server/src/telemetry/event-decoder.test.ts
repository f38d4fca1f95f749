import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Event, EventBatchSchema, EventSchema, create, fromBinary, toBinary } from '@palisade/protocol';
import { makeProcessEvent } from '@palisade/testkit';
import { indexOfEvents } from '@palisade/storage';
import { decodeEventBatch, indexEventBatch } from './event-decoder.js';

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

/** sameIndex asserts that the index read off the wire equals the one derived from decoded events. */
function sameIndex(body: Uint8Array): void {
  assert.deepEqual(indexEventBatch(body), indexOfEvents(decodeEventBatch(body)));
}

function batchOf(events: Event[]): Uint8Array {
  return toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
}

test('indexEventBatch derives the same index as the decoded events, for every kind of event', () => {
  const full = create(EventSchema, fill(EventSchema, 0, 0) as never);
  sameIndex(batchOf([full]));
  sameIndex(batchOf([]));
  // An event without class, activity or time after one with them: nothing carries over.
  sameIndex(batchOf([full, create(EventSchema, {}), full]));
  sameIndex(batchOf([create(EventSchema, {}), full, create(EventSchema, { classUid: 1007 })]));
  sameIndex(
    batchOf(Array.from({ length: 50 }, (_, i) => makeProcessEvent(i, { activityId: i % 2 ? 2 : 1 }))),
  );
  sameIndex(
    batchOf([
      create(EventSchema, {
        classUid: 4001,
        activityId: 1,
        timeMs: 5n,
        process: { cmdLine: 'curl x', path: '/usr/bin/curl' },
        srcEndpoint: { ip: '10.0.0.1', hostname: 'src-not-searched' },
        dstEndpoint: { ip: '10.0.0.2', hostname: 'dst.example' },
      }),
      create(EventSchema, {
        classUid: 1001,
        activityId: 5,
        timeMs: -3n,
        actorProcess: { cmdLine: 'mv a b', path: '/bin/mv', cwd: 'cwd-not-searched' },
        file: { path: '/a' },
        fileResult: { path: '/b' },
      }),
      create(EventSchema, { classUid: 4003, activityId: 1, timeMs: 9n, query: { hostname: 'q.example' } }),
      create(EventSchema, {
        classUid: 3002,
        activityId: 1,
        user: { name: 'alice' },
        actorUser: { name: 'not-searched' },
        rawData: 'Accepted password for alice',
        process: { parent: { cmdLine: 'parent-not-searched', path: '/p' }, user: { name: 'no' } },
      }),
      create(EventSchema, { classUid: 4001, activityId: 1, timeMs: 5n }),
    ]),
  );
});

test('indexEventBatch: batches larger than its scratch space, one after another', () => {
  const big = (n: number, salt: string) =>
    batchOf(
      Array.from({ length: n }, (_, i) =>
        create(EventSchema, { classUid: 1007, process: { cmdLine: `${salt}-${i}-${'x'.repeat(300)}` } }),
      ),
    );
  // 4,000 events of ~320 text bytes: past the 64 KiB start and the 1 MiB cap of the text buffer.
  for (const body of [big(10, 'a'), big(4000, 'b'), big(300, 'c'), big(4000, 'd'), big(1, 'e')])
    sameIndex(body);
});

test('indexEventBatch: a repeated field keeps its last value, merged messages keep earlier fields', () => {
  const a = toBinary(EventSchema, create(EventSchema, { process: { cmdLine: 'first', path: '/first' } }));
  const b = toBinary(EventSchema, create(EventSchema, { process: { cmdLine: 'second' } }));
  // raw_data (field 8) sent twice: "one" then "" (an explicit empty string clears it).
  const raw = new Uint8Array([0x42, 0x03, 0x6f, 0x6e, 0x65, 0x42, 0x00]);
  const event = new Uint8Array([...a, ...b, ...raw]);
  const body = new Uint8Array([0x0a, event.length, ...event]);
  sameIndex(body);
  assert.equal(indexEventBatch(body).text, 'second\n/first');
});

test('indexEventBatch: text that is not valid UTF-8 is replaced exactly as decoding does', () => {
  const bad = [0xff, 0xc3, 0xe2, 0x82, 0xf0, 0x9f, 0x92, 0xed, 0xa0, 0x80, 0xc0, 0xaf];
  for (let cut = 0; cut <= bad.length; cut++) {
    const piece = new Uint8Array(bad.slice(0, cut));
    // process { cmd_line: piece, path: piece } in an event, twice in the batch.
    const p = new Uint8Array([0x32, piece.length, ...piece, 0x2a, piece.length, ...piece]);
    const e = new Uint8Array([0x52, p.length, ...p]);
    sameIndex(new Uint8Array([0x0a, e.length, ...e, 0x0a, e.length, ...e]));
  }
});

test('indexEventBatch refuses malformed input as decodeEventBatch does', () => {
  const body = batchOf([makeProcessEvent(1)]);
  for (const cut of [1, 5, body.length - 3]) {
    assert.throws(() => indexEventBatch(body.subarray(0, cut)), /truncated|runs past/);
  }
  assert.throws(() => indexEventBatch(new Uint8Array([0x0a, 0x03, 0x0a, 0x01, 0x41])), /wire type/);
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
  // A known field with the wrong wire type (class_uid as a string).
  assert.throws(() => decodeEventBatch(new Uint8Array([0x0a, 0x03, 0x0a, 0x01, 0x41])), /wire type/);
});
