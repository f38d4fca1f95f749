// Property test of the one batch rule: the same bytes, random or almost valid, go to the ingest
// check (indexEventBatch) and to the reader (decodeEventBatch). They must both accept or both
// refuse (with a WireError, nothing else); what they accept must decode with protobuf-es to the
// same events, and its index must be the index of those events. If ingest accepted anything a
// reader cannot decode, one agent could store a batch that breaks search for everyone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { EventSchema } from '../gen/palisade/v1/event_pb.js';
import { indexOfEvents } from './batch-index.js';
import { WireError, decodeEventBatch, indexEventBatch } from './batch-reader.js';
import { batchOf, defined, fullEvent, reference, varint } from './wire.test-util.js';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

function attempt(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

const seen = { accepted: 0, refused: 0 };
function agree(body: Uint8Array): void {
  const dec = attempt(() => decodeEventBatch(body));
  const ix = attempt(() => indexEventBatch(body));
  assert.equal(
    ix.ok,
    dec.ok,
    `ingest ${ix.ok ? 'accepts' : 'refuses'} what the reader ${dec.ok ? 'accepts' : 'refuses'}`,
  );
  seen[dec.ok ? 'accepted' : 'refused']++;
  if (!dec.ok) {
    assert.ok(dec.error instanceof WireError, `reader: ${String(dec.error)}`);
    assert.ok(!ix.ok && ix.error instanceof WireError, `ingest: ${String(!ix.ok && ix.error)}`);
    return;
  }
  const events = dec.value as ReturnType<typeof decodeEventBatch>;
  // protobuf-es must read what we accept, and read the same.
  assert.deepEqual(defined(events), defined(reference(body)));
  assert.deepEqual(ix.ok && ix.value, indexOfEvents(events));
}

/** Field numbers that exist somewhere in the event schema (and a few that do not). */
const FIELD_NOS = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 21, 30, 31, 32, 33, 34, 40, 41, 42, 43, 44,
  45, 50, 999,
];

type Token =
  | { t: 'varint'; no: number; v: bigint }
  | { t: 'fixed32' | 'fixed64' | 'bytes'; no: number; b: Uint8Array }
  | { t: 'text'; no: number; s: string }
  | { t: 'msg'; no: number; fields: Token[] }
  | { t: 'raw'; b: Uint8Array };

const fieldNo = fc.oneof(fc.constantFrom(...FIELD_NOS), fc.integer({ min: 0, max: 2 ** 29 - 1 }));

const { token } = fc.letrec<{ token: Token }>((tie) => ({
  token: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      t: fc.constant('varint' as const),
      no: fieldNo,
      v: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    }),
    fc.record({
      t: fc.constant('fixed32' as const),
      no: fieldNo,
      b: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    }),
    fc.record({
      t: fc.constant('fixed64' as const),
      no: fieldNo,
      b: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    }),
    fc.record({ t: fc.constant('bytes' as const), no: fieldNo, b: fc.uint8Array({ maxLength: 12 }) }),
    fc.record({
      t: fc.constant('text' as const),
      no: fieldNo,
      s: fc.string({ unit: 'grapheme', maxLength: 8 }),
    }),
    fc.record({
      t: fc.constant('msg' as const),
      no: fieldNo,
      fields: fc.array(tie('token'), { maxLength: 5 }),
    }),
    fc.record({ t: fc.constant('raw' as const), b: fc.uint8Array({ minLength: 1, maxLength: 3 }) }),
  ),
}));

function tag(no: number, wt: number): number[] {
  return varint(((no << 3) | wt) >>> 0);
}

function varint64(v: bigint): number[] {
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function encode(tokens: Token[]): number[] {
  const out: number[] = [];
  for (const k of tokens) {
    if (k.t === 'raw') out.push(...k.b);
    else if (k.t === 'varint') out.push(...tag(k.no, 0), ...varint64(k.v));
    else if (k.t === 'fixed32') out.push(...tag(k.no, 5), ...k.b);
    else if (k.t === 'fixed64') out.push(...tag(k.no, 1), ...k.b);
    else {
      const inner = k.t === 'msg' ? encode(k.fields) : k.t === 'text' ? [...Buffer.from(k.s)] : [...k.b];
      out.push(...tag(k.no, 2), ...varint(inner.length), ...inner);
    }
  }
  return out;
}

/** A batch whose events are token soups: field 1 of the batch holds each event's tokens. */
const soupBatch = fc
  .array(
    fc.oneof(
      fc.array(token, { maxLength: 8 }).map((fields) => ({ t: 'msg' as const, no: 1, fields })),
      token,
    ),
    {
      maxLength: 4,
    },
  )
  .map((tokens) => Uint8Array.from(encode(tokens)));

const VALID = [
  batchOf([fullEvent()]),
  batchOf([fullEvent(3), create(EventSchema, {}), fullEvent(11)]),
  batchOf([
    create(EventSchema, {
      classUid: 1007,
      activityId: 1,
      timeMs: 5n,
      process: { cmdLine: 'a b', argv: ['a', 'b'] },
    }),
  ]),
];

type Mutation = { at: number; op: 'set' | 'insert' | 'delete' | 'cut'; byte: number };
const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('set' as const, 'insert' as const, 'delete' as const, 'cut' as const),
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x80, 0xff, 0xc0, 0xed, 0x0a, 0x12)),
});

function mutate(body: Uint8Array, ms: Mutation[]): Uint8Array {
  const b = [...body];
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.op === 'set') b[at] = m.byte;
    else if (m.op === 'insert') b.splice(at, 0, m.byte);
    else if (m.op === 'delete') b.splice(at, 1);
    else b.length = at;
  }
  return Uint8Array.from(b);
}

test('random bytes: ingest and reader agree, and agree with protobuf-es on what they accept', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), agree), { numRuns: 3000 });
});

test('protobuf-shaped random batches (any field number, wire type, nesting, text): they agree', () => {
  fc.assert(fc.property(soupBatch, agree), { numRuns: 4000 });
});

test('valid batches with a few bytes changed, inserted, deleted or cut off: they agree', () => {
  fc.assert(
    fc.property(fc.constantFrom(...VALID), fc.array(mutation, { minLength: 1, maxLength: 4 }), (body, ms) =>
      agree(mutate(body, ms)),
    ),
    { numRuns: 4000 },
  );
});

test('the generated inputs are not all refused (the properties above test something)', () => {
  assert.ok(
    seen.accepted > 1000 && seen.refused > 1000,
    `accepted ${seen.accepted}, refused ${seen.refused}`,
  );
});
