import { type Event, EventBatchEncoder } from '@palisade/protocol';

/**
 * BatchBuilder collects events for the next batch: the bytes go into @palisade/protocol's
 * EventBatchEncoder (each event encoded once, on arrival, into one reused buffer; ADR 0008), and
 * the builder keeps what the spool records about the batch (times, counts per class).
 */
export class BatchBuilder {
  private readonly enc = new EventBatchEncoder();
  count = 0;
  minTimeMs = 0;
  maxTimeMs = 0;
  /** When the first event of this batch arrived (agent clock), 0 when empty. */
  firstArrivalMs = 0;
  byClass = new Map<number, number>();

  /** add serialises `event` into the batch. */
  add(event: Event, nowMs: number): void {
    this.enc.add(event);
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
    return this.enc.size;
  }

  /**
   * take returns the encoded EventBatch body and empties the builder. The body is a view of the
   * encoder's buffer: use it (compress or copy it) before the next add.
   */
  take(): Buffer {
    const body = this.enc.take();
    this.count = 0;
    this.firstArrivalMs = 0;
    this.byClass = new Map();
    return body;
  }
}
