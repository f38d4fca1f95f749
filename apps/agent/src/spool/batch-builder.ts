import { type Event, EventSchema, toBinary } from '@palisade/protocol';

/**
 * BatchBuilder collects events for the next batch. Each event is serialised once, on arrival, so
 * the batch size is known exactly and sealing is a concatenation, not a second encoding pass.
 */
export class BatchBuilder {
  private parts: Uint8Array[] = [];
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
    const head = varint(enc.byteLength);
    this.parts.push(TAG, head, enc);
    this.bytes += 1 + head.byteLength + enc.byteLength;
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

  /** take returns the encoded EventBatch body and empties the builder. */
  take(): Buffer {
    const body = Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    this.count = 0;
    this.firstArrivalMs = 0;
    this.byClass = new Map();
    return body;
  }
}

const TAG = Uint8Array.of(0x0a);

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Uint8Array.from(out);
}
