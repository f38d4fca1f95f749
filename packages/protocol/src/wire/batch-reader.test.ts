import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { type Event, EventSchema } from '../gen/palisade/v1/event_pb.js';
import { LIMITS } from '../limits.js';
import { indexOfEvents } from './batch-index.js';
import { BatchIndexer, WireError, decodeEventBatch, indexEventBatch } from './batch-reader.js';
import { SEARCH_FIELDS, searchText } from './search-fields.js';
import { batchOf, defined, fullEvent, lenField, reference, varint } from './wire.test-util.js';

/** same asserts that both readers of the one rule and protobuf-es agree on `body`. */
function same(body: Uint8Array): Event[] {
  const expected = reference(body);
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
  assert.deepEqual(indexEventBatch(body), indexOfEvents(expected), 'the index read off the bytes');
  return actual;
}

/** refused asserts that both readers refuse `body` with a WireError matching `why`. */
function refused(body: Uint8Array, why: RegExp): void {
  assert.throws(
    () => decodeEventBatch(body),
    (e) => e instanceof WireError && why.test(e.message),
  );
  assert.throws(
    () => indexEventBatch(body),
    (e) => e instanceof WireError && why.test(e.message),
  );
}

test('every field of every event message decodes as protobuf-es decodes it, and indexes the same', () => {
  same(batchOf([fullEvent()]));
  same(batchOf([]));
  // Zero values everywhere, a mixed batch, and nothing carrying over from one event to the next.
  same(
    batchOf([create(EventSchema, {}), fullEvent(5), create(EventSchema, { classUid: 1007 }), fullEvent(9)]),
  );
  same(batchOf([create(EventSchema, { exitCode: -1, hasExitCode: true, timeMs: -5n })]));
  same(batchOf([create(EventSchema, { process: { cgroupId: 2n ** 64n - 1n, createdTimeMs: 1n } })]));
});

test('every search field is a field of the schema, and searchText joins them in their order', () => {
  assert.ok(SEARCH_FIELDS.length >= 12);
  const e = fullEvent();
  const text = searchText(e);
  assert.ok(text.includes(e.process!.cmdLine) && text.includes(e.rawData));
  assert.ok(!text.includes(e.process!.parent!.cmdLine), 'the parent is not searched');
  assert.equal(searchText(create(EventSchema, { rawData: 'x', user: { name: 'alice' } })), 'alice\nx');
});

test('a repeated field keeps its last value, merged messages keep earlier fields, lists append', () => {
  const a = toBinary(
    EventSchema,
    create(EventSchema, { process: { cmdLine: 'first', path: '/first', argv: ['a'] } }),
  );
  const b = toBinary(EventSchema, create(EventSchema, { process: { cmdLine: 'second', argv: ['b'] } }));
  // raw_data sent twice: "one" then "" (an explicit empty string clears it).
  const raw = [0x42, 0x03, 0x6f, 0x6e, 0x65, 0x42, 0x00];
  const body = lenField(1, [...a, ...b, ...raw]);
  const [e] = same(body);
  assert.deepEqual(e!.process!.argv, ['a', 'b']);
  assert.equal(indexEventBatch(body).text, 'second\n/first');
});

test('unknown fields of every wire type are skipped (a newer agent may send them)', () => {
  const event = [
    ...toBinary(EventSchema, create(EventSchema, { classUid: 1007, timeMs: 3n })),
    ...varint((900 << 3) | 0),
    ...varint(300), // varint
    ...varint((901 << 3) | 1),
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, // fixed64
    ...lenField(902, [0xff, 0xfe]), // bytes that are not UTF-8: unknown, so not a string
    ...varint((903 << 3) | 5),
    1,
    2,
    3,
    4, // fixed32
  ];
  const [e] = same(lenField(1, event));
  assert.equal(e!.classUid, 1007);
});

test('both readers refuse what protobuf-es refuses: field number 0, bad UTF-8, truncation', () => {
  refused(lenField(1, [0x00, 0x01]), /field number 0/);
  refused(Uint8Array.from([0x00, 0x00]), /field number 0/);
  const bad = [0xff, 0xc3, 0xe2, 0x82, 0xf0, 0x9f, 0x92, 0xed, 0xa0, 0x80, 0xc0, 0xaf];
  for (let cut = 1; cut <= bad.length; cut++) {
    for (let from = 0; from < cut; from++) {
      const piece = bad.slice(from, cut);
      // process { cmd_line: piece } (searched), and the same in an unsearched string (process.name).
      for (const tag of [0x32, 0x22]) {
        const body = lenField(1, lenField(10, [tag, piece.length, ...piece]));
        let protobufEs = true;
        try {
          reference(body);
        } catch {
          protobufEs = false;
        }
        if (protobufEs) same(body);
        else refused(body, /not valid UTF-8/);
      }
    }
  }
  const body = batchOf([fullEvent()]);
  for (const cut of [1, 5, 40, body.length - 3]) refused(body.subarray(0, cut), /truncated|runs past/);
});

test('both readers refuse what protobuf-es would misread: wrong wire types, groups, fields past their message', () => {
  // class_uid (varint) sent length-delimited.
  refused(Uint8Array.from([0x0a, 0x03, 0x0a, 0x01, 0x41]), /wire type 2 where 0/);
  // a group (wire type 3) where an unknown field could be.
  refused(lenField(1, [...varint((700 << 3) | 3), ...varint((700 << 3) | 4)]), /wire type 3/);
  // process holds 2 bytes but its cmd_line claims 5.
  refused(lenField(1, [0x52, 0x02, 0x32, 0x05, 0x61, 0x62, 0x63, 0x64, 0x65]), /runs past/);
  // an 11-byte varint.
  refused(lenField(1, [0x08, ...Array(10).fill(0x80), 0x01]), /longer than 10 bytes/);
});

/** nested is a batch of one event whose process has `parents` ancestors: depth 3 + parents. */
function nested(parents: number): Uint8Array {
  const inner = [0x08, 0x01]; // pid 1
  const headers: number[][] = [];
  let len = inner.length;
  for (let i = 0; i < parents; i++) {
    const h = [0x62, ...varint(len)]; // Process.parent (field 12), length-delimited
    headers.push(h);
    len += h.length;
  }
  const out = new Uint8Array(len);
  let at = 0;
  for (let i = headers.length - 1; i >= 0; i--) {
    out.set(headers[i]!, at);
    at += headers[i]!.length;
  }
  out.set(inner, at);
  return lenField(1, lenField(10, out));
}

test(`messages nest at most ${LIMITS.maxMessageDepth} deep; deeper is refused, not a stack overflow`, () => {
  const max = LIMITS.maxMessageDepth;
  const ok = same(nested(max - 3));
  assert.equal(ok.length, 1);
  refused(nested(max - 2), new RegExp(`deeper than ${max}`));
  refused(nested(50_000), new RegExp(`deeper than ${max}`));
});

test('BatchIndexer: batches larger than its scratch space, one after another, and after a refused one', () => {
  const ix = new BatchIndexer();
  const big = (n: number, salt: string) =>
    batchOf(
      Array.from({ length: n }, (_, i) =>
        create(EventSchema, { classUid: 1007, process: { cmdLine: `${salt}-${i}-${'x'.repeat(300)}` } }),
      ),
    );
  // 4,000 events of ~320 text bytes: past the 64 KiB start and the 1 MiB cap of the text buffer.
  for (const body of [
    big(10, 'a'),
    big(4000, 'b'),
    Uint8Array.from([0x0a, 0x05]),
    big(300, 'c'),
    big(4000, 'd'),
    big(1, 'e'),
  ]) {
    let expected: ReturnType<typeof indexOfEvents> | undefined;
    try {
      expected = indexOfEvents(reference(body));
    } catch {
      assert.throws(() => ix.index(body), WireError);
      continue;
    }
    assert.deepEqual(ix.index(body), expected);
  }
});
