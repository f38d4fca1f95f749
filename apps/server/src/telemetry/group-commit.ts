import type { Logger } from '@palisade/common';
import { type EventBatchFrame, FrameError, LIMITS, decodeBatchWithBody } from '@palisade/protocol';
import type { BatchResult, IncomingBatch, Storage } from '@palisade/storage';
import { decodeEventBatch } from './event-decoder.js';

/** GroupCommitOptions tune the writer. */
export interface GroupCommitOptions {
  storage: Storage;
  logger: Logger;
  now: () => number;
  /** Longest a batch waits for others to join its transaction, ms. @default 4 */
  maxDelayMs?: number;
  /** Events (as declared by the frames) that make a group big enough to write at once. @default 20000 */
  maxEvents?: number;
  /** Compressed batch bytes queued or being written beyond which senders must pause. @default 16 MiB */
  maxQueuedBytes?: number;
}

interface Pending {
  agentId: string;
  frame: EventBatchFrame;
  receivedAt: number;
  resolve(r: BatchResult): void;
  reject(err: unknown): void;
}

/**
 * GroupCommitWriter collects batch frames from every connection for a few ms (or until enough
 * events arrive) and stores them with one `storage.storeBatches` call, so the cost of a durable
 * commit is shared by many batches. A batch's promise resolves only after that call resolved,
 * which is what makes an ack mean "durably stored".
 *
 * Frames wait compressed and are decoded (checksum, size, LZ4, protobuf, count) only when their
 * group is written: decoded events are several times larger than the frame and would otherwise
 * live long enough to make garbage collection the main cost of ingest. A frame that fails to
 * decode is rejected with its FrameError and the rest of the group is stored.
 *
 * Memory is bounded: while more than `maxQueuedBytes` wait, `overloaded` is true and connections
 * stop reading until `onDrain` fires.
 */
export class GroupCommitWriter {
  private queue: Pending[] = [];
  private queuedEvents = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private writing: Promise<void> | null = null;
  private readonly inFlight = new Map<string, Promise<BatchResult>>();
  private drainWaiters: Array<() => void> = [];
  private readonly maxDelayMs: number;
  private readonly maxEvents: number;
  private readonly maxQueuedBytes: number;
  /** Counters for benchmarks and health. */
  readonly stats = { commits: 0, batches: 0, events: 0, duplicates: 0, refused: 0, failures: 0 };

  constructor(private readonly o: GroupCommitOptions) {
    this.maxDelayMs = o.maxDelayMs ?? 4;
    this.maxEvents = o.maxEvents ?? 20_000;
    this.maxQueuedBytes = o.maxQueuedBytes ?? 16 * 1024 * 1024;
  }

  /** overloaded is true while more bytes wait than the cap allows. */
  get overloaded(): boolean {
    return this.bytes > this.maxQueuedBytes;
  }

  /** queuedBytes is what waits or is being written. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** onDrain calls `cb` once, when the writer is no longer overloaded. */
  onDrain(cb: () => void): void {
    if (!this.overloaded) cb();
    else this.drainWaiters.push(cb);
  }

  /**
   * submit queues one batch frame and resolves when it is durably stored (or found stored
   * before); it rejects with a FrameError when the frame does not decode. The same (agent, seq)
   * submitted again while the first is on its way resolves as duplicate once the first is stored.
   */
  submit(agentId: string, frame: EventBatchFrame): Promise<BatchResult> {
    const seq = frame.seq;
    const key = `${agentId}/${seq}`;
    const earlier = this.inFlight.get(key);
    if (earlier) {
      return earlier.then(
        () => ({ agentId, seq, duplicate: true }),
        () => this.submit(agentId, frame),
      );
    }
    const p = new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ agentId, frame, receivedAt: this.o.now(), resolve, reject });
    });
    this.inFlight.set(key, p);
    const forget = () => this.inFlight.delete(key);
    p.then(forget, forget);
    this.bytes += frame.payload.byteLength;
    this.queuedEvents += frame.eventCount;
    if (this.queuedEvents >= this.maxEvents) this.kick(0);
    else if (!this.timer) this.kick(this.maxDelayMs);
    return p;
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
  }

  private kick(delayMs: number): void {
    if (this.writing) return; // the running write picks the queue up when it ends
    this.clearTimer();
    const run = () => {
      this.timer = null;
      this.writing = this.writeGroup().finally(() => {
        this.writing = null;
        if (this.queue.length) this.kick(this.queuedEvents >= this.maxEvents ? 0 : this.maxDelayMs);
      });
    };
    // A full group is written on the next turn of the event loop, before more sockets are read.
    this.timer = delayMs === 0 ? setImmediate(run) : setTimeout(run, delayMs);
  }

  /** takeGroup removes up to maxEvents worth of batches (at least one) from the queue. */
  private takeGroup(): Pending[] {
    let n = 0;
    let events = 0;
    while (n < this.queue.length && (n === 0 || events + this.queue[n]!.frame.eventCount <= this.maxEvents)) {
      events += this.queue[n]!.frame.eventCount;
      n++;
    }
    this.queuedEvents -= events;
    return this.queue.splice(0, n);
  }

  private async writeGroup(): Promise<void> {
    const group = this.takeGroup();
    if (group.length === 0) return;
    const valid: Pending[] = [];
    const batches: IncomingBatch[] = [];
    for (const p of group) {
      try {
        const { events, body } = decodeBatchWithBody(p.frame, LIMITS, decodeEventBatch);
        batches.push({ agentId: p.agentId, seq: p.frame.seq, events, body, receivedAt: p.receivedAt });
        valid.push(p);
      } catch (err) {
        this.bytes -= p.frame.payload.byteLength;
        this.stats.refused++;
        p.reject(err instanceof FrameError ? err : new FrameError('bad_payload', String(err)));
      }
    }
    let results: BatchResult[] | undefined;
    let failure: unknown;
    if (batches.length) {
      try {
        results = await this.o.storage.storeBatches(batches);
      } catch (err) {
        failure = err;
      }
    }
    for (let i = 0; i < valid.length; i++) {
      const p = valid[i]!;
      this.bytes -= p.frame.payload.byteLength;
      const r = results?.[i];
      if (r) {
        this.stats.batches++;
        if (r.duplicate) this.stats.duplicates++;
        else this.stats.events += batches[i]!.events.length;
        p.resolve(r);
      } else {
        p.reject(failure ?? new Error('storage returned no result for the batch'));
      }
    }
    if (failure) {
      this.stats.failures++;
      this.o.logger.error({ err: failure, batches: batches.length }, 'storing a group of batches failed');
    } else if (batches.length) {
      this.stats.commits++;
    }
    if (!this.overloaded && this.drainWaiters.length) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** close writes whatever is queued and waits for it. */
  async close(): Promise<void> {
    for (let i = 0; i < 100_000 && (this.queue.length || this.writing || this.timer); i++) {
      this.clearTimer();
      if (this.writing) await this.writing;
      else if (this.queue.length) {
        this.writing = this.writeGroup();
        await this.writing;
        this.writing = null;
      }
    }
  }
}
