import type { Event } from '../gen/palisade/v1/event_pb.js';
import { LIMITS } from '../limits.js';
import type { BatchIndex } from './batch-index.js';
import {
  BATCH_PLAN,
  type FieldPlan,
  K_BOOL,
  K_BYTES,
  K_DOUBLE,
  K_FIXED32,
  K_FIXED64,
  K_FLOAT,
  K_INT32,
  K_INT64,
  K_MAP,
  K_MESSAGE,
  K_SFIXED32,
  K_SFIXED64,
  K_SINT32,
  K_SINT64,
  K_STRING,
  K_UINT32,
  K_UINT64,
  MAP_KEY,
  MAP_VALUE,
  type MessagePlan,
  type Obj,
  R_ACTIVITY,
  R_CLASS,
  R_EVENT,
  R_NONE,
  R_TIME,
  SLOT_COUNT,
  WIRE_I32,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
  mapValueZero,
} from './message-plan.js';
import { isAsciiRange, validUtf8, validUtf8Bytes } from './utf8.js';

/*
 * The one reader of EventBatch bytes. Ingest checks and indexes a batch with it (`indexEventBatch`,
 * no event decoded), and every reader of stored batches decodes with it (`decodeEventBatch`):
 * both walk the bytes with the same code, so what ingest accepts is exactly what readers can
 * decode. The rule, stricter than protobuf-es in the places where that one is lenient, so that
 * everything accepted here also decodes with protobuf-es (and to the same events):
 *  - a tag is a varint of at most 5 bytes that fits in 32 bits, with a field number from 1 and
 *    wire type 0, 1, 2 or 5 (groups are refused);
 *  - a known field has the wire type of its declared type (a repeated number may also be packed);
 *  - a varint has at most 10 bytes; nothing runs past the end of the message that contains it;
 *  - a string is well-formed UTF-8;
 *  - messages nest at most LIMITS.maxMessageDepth deep (the EventBatch is depth 1).
 * Unknown fields are checked as above and skipped, never kept.
 */

/** WireError says why bytes are not a valid EventBatch. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

type SliceableBuffer = Buffer & {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
};
// Buffer's own slices skip the argument checks of toString(); fall back where a runtime lacks them.
const hasSlices = typeof (Buffer.prototype as Partial<SliceableBuffer>).utf8Slice === 'function';

const MAX_DEPTH = LIMITS.maxMessageDepth;
const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);

/** Walk is the state of one pass over a batch. */
class Walk {
  buf: Buffer = EMPTY;
  /** The same bytes as `buf`, for reading four at a time. */
  view: DataView = EMPTY_VIEW;
  pos = 0;
  /** The last 64-bit varint read. */
  lo = 0;
  hi = 0;
  /** Index mode: where each search slot's bytes are in the current event, and its class, activity, time. */
  readonly slots = new Int32Array(SLOT_COUNT * 2);
  cls = 0;
  act = 0;
  time = 0n;
  /** Index mode: receives every event once it has been read. */
  sink: BatchIndexer | null = null;
}

function fail(w: Walk, plan: MessagePlan | FieldPlan, what: string): never {
  const where = 'typeName' in plan ? plan.typeName : plan.label;
  throw new WireError(`${where}: ${what} (at byte ${w.pos})`);
}

/** varint32 reads a varint of at most 10 bytes and returns its low 32 bits. */
function varint32(w: Walk, end: number, at: MessagePlan | FieldPlan): number {
  const buf = w.buf;
  let pos = w.pos;
  if (pos >= end) fail(w, at, 'truncated varint');
  let b = buf[pos++]!;
  if (b < 0x80) {
    w.pos = pos;
    return b;
  }
  let result = b & 0x7f;
  for (let i = 1; i < 10; i++) {
    if (pos >= end) fail(w, at, 'truncated varint');
    b = buf[pos++]!;
    if (i < 5) result |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      w.pos = pos;
      return result;
    }
  }
  w.pos = pos;
  fail(w, at, 'varint longer than 10 bytes');
}

/** varint64 reads a varint of at most 10 bytes into w.lo and w.hi (as protobuf-es does). */
function varint64(w: Walk, end: number, at: FieldPlan): void {
  const buf = w.buf;
  let pos = w.pos;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) fail(w, at, 'truncated varint');
    const b = buf[pos++]!;
    if (i < 4) lo |= (b & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (b & 0x0f) << 28;
      hi = (b & 0x70) >> 4;
    } else hi |= (b & 0x7f) << (7 * i - 32);
    if (b < 0x80) {
      w.pos = pos;
      w.lo = lo;
      w.hi = hi;
      return;
    }
  }
  w.pos = pos;
  fail(w, at, 'varint longer than 10 bytes');
}

function u64(lo: number, hi: number): bigint {
  return hi === 0 ? BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function tagOf(w: Walk, end: number, plan: MessagePlan): number {
  const buf = w.buf;
  let b = buf[w.pos++]!;
  if (b < 0x80) return b;
  let result = b & 0x7f;
  for (let i = 1; i < 5; i++) {
    if (w.pos >= end) fail(w, plan, 'truncated tag');
    b = buf[w.pos++]!;
    if (i === 4) {
      if (b > 0x0f) fail(w, plan, 'tag does not fit in 32 bits');
      return (result | (b << 28)) >>> 0;
    }
    result |= (b & 0x7f) << (7 * i);
    if (b < 0x80) return result;
  }
  return result;
}

/** length reads a length prefix and checks that what it announces lies within `end`. */
function length(w: Walk, end: number, at: FieldPlan | MessagePlan): number {
  const n = varint32(w, end, at) >>> 0;
  if (n > end - w.pos) fail(w, at, `length ${n} runs past the end of its message`);
  return n;
}

function skip(w: Walk, wt: number, no: number, end: number, plan: MessagePlan): void {
  if (wt === WIRE_VARINT) varint32(w, end, plan);
  else if (wt === WIRE_LEN) {
    const n = length(w, end, plan); // read first: `w.pos += length()` would add to the old position
    w.pos += n;
  } else if (wt === WIRE_I64 || wt === WIRE_I32) {
    const n = wt === WIRE_I64 ? 8 : 4;
    if (n > end - w.pos) fail(w, plan, `field ${no} runs past the end of its message`);
    w.pos += n;
  } else fail(w, plan, `field ${no} has wire type ${wt} (groups and wire types 6 and 7 are refused)`);
}

/**
 * readMessage reads the fields of one message up to `end`. `out` is the decoded message to fill,
 * or null in index mode, where nothing is decoded but the index's fields.
 */
function readMessage(w: Walk, plan: MessagePlan, end: number, depth: number, out: Obj | null): void {
  if (depth > MAX_DEPTH) fail(w, plan, `messages nest deeper than ${MAX_DEPTH}`);
  const fields = plan.fields;
  const n = fields.length;
  while (w.pos < end) {
    const tag = tagOf(w, end, plan);
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) fail(w, plan, 'field number 0');
    const f = no < n ? fields[no] : undefined;
    if (f === undefined) skip(w, wt, no, end, plan);
    else if (wt === f.wire) readField(w, f, end, depth, out);
    else if (wt === WIRE_LEN && f.packable) readPacked(w, f, end, out);
    else fail(w, f, `wire type ${wt} where ${f.wire} was expected`);
  }
}

function put(out: Obj, f: FieldPlan, v: unknown): void {
  if (f.list) (out[f.name] as unknown[]).push(v);
  else if (f.oneof !== null) out[f.oneof] = { case: f.name, value: v };
  else out[f.name] = v;
}

function readField(w: Walk, f: FieldPlan, end: number, depth: number, out: Obj | null): void {
  const kind = f.kind;
  if (kind === K_STRING) {
    const len = length(w, end, f);
    const start = w.pos;
    const stop = start + len;
    w.pos = stop;
    const buf = w.buf;
    if (out === null) {
      const slot = f.slot;
      if (slot < 0) {
        if (!validUtf8(w.view, buf, start, stop)) fail(w, f, 'not valid UTF-8');
        return;
      }
      // A searched string is checked with the batch's search text, which holds its bytes (one
      // native check per batch); a value replaced by a later one of the same field is checked now.
      const s2 = slot * 2;
      const prevEnd = w.slots[s2 + 1]!;
      if (prevEnd !== 0 && !validUtf8(w.view, buf, w.slots[s2]!, prevEnd)) fail(w, f, 'not valid UTF-8');
      w.slots[s2] = start;
      w.slots[s2 + 1] = stop;
      return;
    }
    put(out, f, decodeString(w, f, buf, start, stop));
  } else if (kind === K_MESSAGE) {
    const len = length(w, end, f);
    const stop = w.pos + len;
    const child = f.child!;
    if (out === null) {
      if (f.role === R_EVENT) {
        w.slots.fill(0);
        w.cls = 0;
        w.act = 0;
        w.time = 0n;
        readMessage(w, child, stop, depth + 1, null);
        w.sink?.event(w);
      } else readMessage(w, child, stop, depth + 1, null);
      return;
    }
    let m: Obj;
    if (f.list) {
      m = child.make();
      (out[f.name] as Obj[]).push(m);
    } else if (f.oneof !== null) {
      const o = out[f.oneof] as { case: string | undefined; value?: Obj };
      m = o.case === f.name ? o.value! : child.make();
      out[f.oneof] = { case: f.name, value: m };
    } else {
      // A message field seen again merges into what came before, as protobuf requires.
      m = (out[f.name] as Obj | undefined) ?? child.make();
      out[f.name] = m;
    }
    readMessage(w, child, stop, depth + 1, m);
  } else if (kind === K_MAP) {
    const len = length(w, end, f);
    const stop = w.pos + len;
    const entryPlan = f.child!;
    const entry = out === null ? null : entryPlan.make();
    readMessage(w, entryPlan, stop, depth + 1, entry);
    if (out !== null && entry !== null) {
      const value = entry[MAP_VALUE] === undefined ? mapValueZero.get(entryPlan)!() : entry[MAP_VALUE];
      Object.defineProperty(out[f.name], String(entry[MAP_KEY]), {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  } else if (out === null) {
    if (f.role === R_NONE) skipScalar(w, f, end);
    else if (f.role === R_TIME) {
      varint64(w, end, f);
      w.time = BigInt.asIntN(64, u64(w.lo, w.hi));
    } else {
      const v = varint32(w, end, f) >>> 0;
      if (f.role === R_CLASS) w.cls = v;
      else if (f.role === R_ACTIVITY) w.act = v;
    }
  } else put(out, f, readScalar(w, f, end));
}

function readPacked(w: Walk, f: FieldPlan, end: number, out: Obj | null): void {
  const len = length(w, end, f);
  const stop = w.pos + len;
  const items = out === null ? null : (out[f.name] as unknown[]);
  while (w.pos < stop) {
    if (items === null) skipScalar(w, f, stop);
    else items.push(readScalar(w, f, stop));
  }
}

function skipScalar(w: Walk, f: FieldPlan, end: number): void {
  if (f.wire === WIRE_VARINT) varint32(w, end, f);
  else {
    const n = f.wire === WIRE_I64 ? 8 : 4;
    if (n > end - w.pos) fail(w, f, 'runs past the end of its message');
    w.pos += n;
  }
}

function fixed(w: Walk, f: FieldPlan, end: number, n: number): number {
  if (n > end - w.pos) fail(w, f, 'runs past the end of its message');
  const at = w.pos;
  w.pos += n;
  return at;
}

function readScalar(w: Walk, f: FieldPlan, end: number): unknown {
  switch (f.kind) {
    case K_UINT32:
      return varint32(w, end, f) >>> 0;
    case K_INT32:
      return varint32(w, end, f) | 0;
    case K_SINT32: {
      const n = varint32(w, end, f) >>> 0;
      return (n >>> 1) ^ -(n & 1);
    }
    case K_BOOL:
      varint64(w, end, f);
      return w.lo !== 0 || w.hi !== 0;
    case K_UINT64:
      varint64(w, end, f);
      return long(f, u64(w.lo, w.hi), false);
    case K_INT64:
      varint64(w, end, f);
      return long(f, u64(w.lo, w.hi), true);
    case K_SINT64: {
      varint64(w, end, f);
      const s = -(w.lo & 1);
      const lo = ((w.lo >>> 1) | ((w.hi & 1) << 31)) ^ s;
      const hi = (w.hi >>> 1) ^ s;
      return long(f, u64(lo, hi), true);
    }
    case K_FIXED32:
      return w.buf.readUInt32LE(fixed(w, f, end, 4));
    case K_SFIXED32:
      return w.buf.readInt32LE(fixed(w, f, end, 4));
    case K_FLOAT:
      return w.buf.readFloatLE(fixed(w, f, end, 4));
    case K_FIXED64: {
      const at = fixed(w, f, end, 8);
      return long(f, u64(w.buf.readUInt32LE(at), w.buf.readUInt32LE(at + 4)), false);
    }
    case K_SFIXED64: {
      const at = fixed(w, f, end, 8);
      return long(f, u64(w.buf.readUInt32LE(at), w.buf.readUInt32LE(at + 4)), true);
    }
    case K_DOUBLE:
      return w.buf.readDoubleLE(fixed(w, f, end, 8));
    case K_BYTES: {
      const len = length(w, end, f);
      const out = new Uint8Array(len);
      out.set(w.buf.subarray(w.pos, w.pos + len));
      w.pos += len;
      return out;
    }
    default:
      return fail(w, f, `unknown field kind ${f.kind}`);
  }
}

function long(f: FieldPlan, v: bigint, signed: boolean): bigint | string {
  const n = signed ? BigInt.asIntN(64, v) : v;
  return f.longAsString ? n.toString() : n;
}

function decodeString(w: Walk, f: FieldPlan, buf: Buffer, start: number, stop: number): string {
  if (stop === start) return '';
  const ascii = stop - start < 96 && isAsciiRange(w.view, buf, start, stop);
  if (!ascii && !validUtf8(w.view, buf, start, stop)) fail(w, f, 'not valid UTF-8');
  if (!hasSlices) return buf.toString(ascii ? 'latin1' : 'utf8', start, stop);
  return ascii
    ? (buf as SliceableBuffer).latin1Slice(start, stop)
    : (buf as SliceableBuffer).utf8Slice(start, stop);
}

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function start(w: Walk, body: Uint8Array): Buffer {
  const buf = asBuffer(body);
  w.buf = buf;
  w.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  w.pos = 0;
  return buf;
}

/**
 * decodeEventBatch decodes the bytes of an EventBatch into its events, or throws WireError on
 * bytes that break the rule above. The events are protobuf-es messages (`toBinary` encodes
 * them) equal to what protobuf-es's fromBinary returns (without unknown fields, which are skipped).
 */
export function decodeEventBatch(body: Uint8Array): Event[] {
  const w = new Walk();
  const buf = start(w, body);
  const batch = BATCH_PLAN.make();
  readMessage(w, BATCH_PLAN, buf.byteLength, 1, batch);
  return batch.events as Event[];
}

/**
 * BatchIndexer checks EventBatch bytes as decodeEventBatch does (the same walk, so it throws on
 * exactly the same input) and derives the batch's index from the bytes without decoding an event:
 * class, activity and time are read as numbers, the search text is the bytes of the searched
 * fields (SEARCH_FIELDS; the last value of a field wins, as protobuf merging does) copied side by
 * side and decoded once. It keeps its scratch buffers from one batch to the next; one instance
 * serves one caller at a time (it is synchronous).
 */
export class BatchIndexer {
  private readonly w = new Walk();
  private count = 0;
  private minTime = 0n;
  private maxTime = 0n;
  private kindPairs: number[] = [];
  private kinds: string[] = [];
  private spans = new Int32Array(4096);
  private nSpans = 0;
  private textBytes = 0;
  private textBuf = Buffer.allocUnsafe(64 * 1024);

  constructor() {
    this.w.sink = this;
  }

  /** index returns the BatchIndex of `body` (equal to `indexOfEvents(decodeEventBatch(body))`). */
  index(body: Uint8Array): BatchIndex {
    const w = this.w;
    const buf = start(w, body);
    this.count = 0;
    this.kindPairs = [];
    this.kinds = [];
    this.nSpans = 0;
    this.textBytes = 0;
    try {
      readMessage(w, BATCH_PLAN, buf.byteLength, 1, null);
      return this.result(buf);
    } finally {
      w.buf = EMPTY;
      w.view = EMPTY_VIEW;
    }
  }

  /** event is called by the walk after each event of the batch. */
  event(w: Walk): void {
    const t = w.time;
    if (this.count === 0) {
      this.minTime = t;
      this.maxTime = t;
    } else {
      if (t < this.minTime) this.minTime = t;
      if (t > this.maxTime) this.maxTime = t;
    }
    this.count++;
    const pairs = this.kindPairs;
    let seen = false;
    for (let k = 0; k < pairs.length && !seen; k += 2) seen = pairs[k] === w.cls && pairs[k + 1] === w.act;
    if (!seen) {
      pairs.push(w.cls, w.act);
      this.kinds.push(`${w.cls}.${w.act}`);
    }
    if (this.count > 1) {
      this.pushSpan(-1, -1);
      this.textBytes++;
    }
    let parts = 0;
    const slots = w.slots;
    for (let i = 0; i < slots.length; i += 2) {
      const start = slots[i]!;
      const end = slots[i + 1]!;
      if (end === start) continue;
      if (parts++ > 0) this.textBytes++;
      this.pushSpan(start, end);
      this.textBytes += end - start;
    }
  }

  private pushSpan(start: number, end: number): void {
    const n = this.nSpans;
    if (n + 2 > this.spans.length) {
      const grown = new Int32Array(this.spans.length * 2);
      grown.set(this.spans);
      this.spans = grown;
    }
    this.spans[n] = start;
    this.spans[n + 1] = end;
    this.nSpans = n + 2;
  }

  private result(buf: Buffer): BatchIndex {
    const textBytes = this.textBytes;
    // The scratch grows to 1 MiB at most: a larger (rare, limit-sized) batch gets its own buffer.
    if (this.textBuf.length < textBytes && textBytes <= TEXT_BUF_MAX)
      this.textBuf = Buffer.allocUnsafe(Math.min(Math.max(textBytes, this.textBuf.length * 2), TEXT_BUF_MAX));
    const out = textBytes <= this.textBuf.length ? this.textBuf : Buffer.allocUnsafe(textBytes);
    const spans = this.spans;
    let off = 0;
    let first = true;
    for (let i = 0; i < this.nSpans; i += 2) {
      const start = spans[i]!;
      if (start === -1) {
        out[off++] = 0x0a;
        first = true;
        continue;
      }
      if (!first) out[off++] = 0x0a;
      first = false;
      const end = spans[i + 1]!;
      // Most pieces are short: a loop beats Buffer.copy's call overhead for them.
      if (end - start > 64) off += buf.copy(out, off, start, end);
      else for (let j = start; j < end; j++) out[off++] = buf[j]!;
    }
    // The searched strings were not checked one by one (see readField): check them all at once.
    // Pieces are separated by a newline, which no UTF-8 sequence can span, so the text is valid
    // exactly when every piece is.
    if (!validUtf8Bytes(out.subarray(0, off)))
      throw new WireError(`${BATCH_PLAN.typeName}: a searched string field is not valid UTF-8`);
    const text = hasSlices ? (out as SliceableBuffer).utf8Slice(0, off) : out.toString('utf8', 0, off);
    const count = this.count;
    return {
      count,
      minTimeMs: count ? this.minTime : null,
      maxTimeMs: count ? this.maxTime : null,
      kinds: this.kinds,
      text,
    };
  }
}

const TEXT_BUF_MAX = 1024 * 1024;
const shared = new BatchIndexer();

/** indexEventBatch checks EventBatch bytes (throws WireError like decodeEventBatch) and returns their BatchIndex. */
export function indexEventBatch(body: Uint8Array): BatchIndex {
  return shared.index(body);
}
