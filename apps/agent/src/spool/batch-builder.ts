import { type Event, EventSchema, toBinary } from '@palisade/protocol';

/** The builder's buffer starts (and after a small batch returns to) this size; it doubles as needed. */
const INITIAL_BYTES = 64 * 1024;

/**
 * BatchBuilder collects events for the next batch. Each event is serialised once, on arrival, and
 * copied at once into one buffer that is reused batch after batch, so the batch size is known
 * exactly and sealing needs no second encoding pass. Keeping no per-event object until the batch is
 * sealed matters for memory: under a storm thousands of them would outlive the young generation,
 * and their garbage would then pile up in the old one (ADR 0008).
 */
export class BatchBuilder {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private bytes = 0;
  count = 0;
  minTimeMs = 0;
  maxTimeMs = 0;
  /** When the first event of this batch arrived (agent clock), 0 when empty. */
  firstArrivalMs = 0;
  byClass = new Map<number, number>();

  /** add serialises `event` into the batch. */
  add(event: Event, nowMs: number): void {
    const enc = toBinary(EventSchema, event);
    // EventBatch field 1 (events), wire type 2: tag 0x0a, varint length, bytes.
    this.reserve(1 + 5 + enc.byteLength);
    const b = this.buf;
    let at = this.bytes;
    b[at++] = 0x0a;
    let n = enc.byteLength;
    while (n > 0x7f) {
      b[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[at++] = n;
    b.set(enc, at);
    this.bytes = at + enc.byteLength;
    const t = Number(event.timeMs);
    if (this.count === 0) {
      this.minTimeMs = t;
      this.maxTimeMs = t;
      this.firstArrivalMs = nowMs;
    } else {
      if (t < this.minTimeMs) this.minTimeMs = t;
      if (t > this.maxTimeMs) this.maxTimeMs = t;
    }
    this.count++;
    this.byClass.set(event.classUid, (this.byClass.get(event.classUid) ?? 0) + 1);
  }

  /** size is the encoded EventBatch size so far. */
  get size(): number {
    return this.bytes;
  }

  /**
   * take returns the encoded EventBatch body and empties the builder. The body is a view of the
   * builder's buffer: use it (compress or copy it) before the next add.
   */
  take(): Buffer {
    const body = this.buf.subarray(0, this.bytes);
    // A storm grew the buffer; once batches are small again, let the big one go.
    if (this.buf.length > INITIAL_BYTES && this.bytes < this.buf.length / 4)
      this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
    this.bytes = 0;
    this.count = 0;
    this.firstArrivalMs = 0;
    this.byClass = new Map();
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
