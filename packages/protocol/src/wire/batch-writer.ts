import { type DescMessage, create, toBinary } from '@bufbuild/protobuf';
import { type Event, EventSchema } from '../gen/palisade/v1/event_pb.js';
import {
  ClientFrameSchema,
  type EventBatchFrame,
  EventBatchFrameSchema,
  EventBatchSchema,
} from '../gen/palisade/v1/telemetry_pb.js';
import { WIRE_LEN, WIRE_VARINT } from './message-plan.js';

/*
 * The few places that write protobuf bytes around already encoded messages instead of encoding
 * a whole message: the agent appends each event to its batch as it arrives, and frames stored in
 * the spool are sent (and resent) without being decoded. Tags come from the descriptors.
 */

/** tagBytes is the encoded tag of a field, found by its local name (checked against its kind). */
function tagBytes(desc: DescMessage, localName: string, wire: number): Uint8Array {
  const f = desc.fields.find((x) => x.localName === localName);
  const kindOk =
    f &&
    (wire === WIRE_LEN
      ? f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message')
      : f.fieldKind === 'scalar');
  if (!f || !kindOk)
    throw new Error(`${desc.typeName}.${localName} is not the field the batch writer expects`);
  const out: number[] = [];
  writeVarintTo(out, ((f.number << 3) | wire) >>> 0);
  return Uint8Array.from(out);
}

function writeVarintTo(out: number[], n: number | bigint): void {
  let v = BigInt(n);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/** EventBatch.events */
const EVENTS_TAG = tagBytes(EventBatchSchema, 'events', WIRE_LEN);
/** ClientFrame.batch */
const CLIENT_BATCH_TAG = tagBytes(ClientFrameSchema, 'batch', WIRE_LEN);
/** EventBatchFrame.seq */
const FRAME_SEQ_TAG = tagBytes(EventBatchFrameSchema, 'seq', WIRE_VARINT);

/** varintSize is how many bytes a (non-negative, safe integer) varint takes. */
function varintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** writeVarint writes a non-negative safe integer as a varint at `at`, returning where it ends. */
function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n > 0x7f) {
    buf[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** The encoder's buffer starts (and after a small batch returns to) this size; it doubles as needed. */
const INITIAL_BYTES = 64 * 1024;

/**
 * EventBatchEncoder builds the bytes of an EventBatch one event at a time: each event is encoded
 * once, on arrival, and copied at once into one buffer that is reused batch after batch, so the
 * batch's size is known exactly and taking it needs no second pass and no per-event object kept
 * until then (ADR 0008).
 */
export class EventBatchEncoder {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private bytes = 0;
  /** Events added since the last take. */
  count = 0;

  /** add encodes `event` into the batch. */
  add(event: Event): void {
    const enc = toBinary(EventSchema, event);
    const n = enc.byteLength;
    this.reserve(EVENTS_TAG.length + varintSize(n) + n);
    const b = this.buf;
    b.set(EVENTS_TAG, this.bytes);
    const at = writeVarint(b, this.bytes + EVENTS_TAG.length, n);
    b.set(enc, at);
    this.bytes = at + n;
    this.count++;
  }

  /** size is the encoded EventBatch size so far. */
  get size(): number {
    return this.bytes;
  }

  /**
   * take returns the encoded EventBatch and empties the encoder. The bytes are a view of the
   * encoder's buffer: use them (compress or copy them) before the next add.
   */
  take(): Buffer {
    const body = this.buf.subarray(0, this.bytes);
    // A storm grew the buffer; once batches are small again, let the big one go.
    if (this.buf.length > INITIAL_BYTES && this.bytes < this.buf.length / 4)
      this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
    this.bytes = 0;
    this.count = 0;
    return body;
  }

  /** reserve makes room for `n` more bytes, doubling the buffer (the bytes so far are kept). */
  private reserve(n: number): void {
    if (this.bytes + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.bytes + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.bytes);
    this.buf = next;
  }
}

/**
 * wrapBatchFrame turns encoded EventBatchFrame bytes into the bytes of a ClientFrame holding
 * it, without decoding them: the agent's spool keeps frames as sent, so a resend after a restart
 * is byte-identical to the first send.
 */
export function wrapBatchFrame(frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(CLIENT_BATCH_TAG.length + varintSize(frame.byteLength) + frame.byteLength);
  out.set(CLIENT_BATCH_TAG, 0);
  const at = writeVarint(out, CLIENT_BATCH_TAG.length, frame.byteLength);
  out.set(frame, at);
  return out;
}

/**
 * encodeFrameWithoutSeq encodes every field of an EventBatchFrame but its sequence number (also
 * deliberately broken ones): the part of a frame that stays the same when one compressed batch is
 * sent under many sequence numbers (simulated agents, benchmarks). See clientFrameWithSeq.
 */
export function encodeFrameWithoutSeq(frame: Omit<EventBatchFrame, 'seq' | '$typeName'>): Uint8Array {
  return toBinary(EventBatchFrameSchema, create(EventBatchFrameSchema, { ...frame, seq: 0n }));
}

/** clientFrameWithSeq encodes ClientFrame{batch: {seq, ...rest}} from encodeFrameWithoutSeq's bytes. */
export function clientFrameWithSeq(seq: bigint, rest: Uint8Array): Buffer {
  const seqBytes: number[] = [...FRAME_SEQ_TAG];
  writeVarintTo(seqBytes, seq);
  const inner = seqBytes.length + rest.byteLength;
  const out = Buffer.allocUnsafe(CLIENT_BATCH_TAG.length + varintSize(inner) + inner);
  out.set(CLIENT_BATCH_TAG, 0);
  let at = writeVarint(out, CLIENT_BATCH_TAG.length, inner);
  out.set(seqBytes, at);
  at += seqBytes.length;
  out.set(rest, at);
  return out;
}
