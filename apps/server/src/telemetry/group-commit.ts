import type { Logger } from '@palisade/common';
import {
  type Event,
  type EventBatchFrame,
  FrameError,
  LIMITS,
  decodeBatchWithBody,
  decodeEventBatch,
  indexEventBatch,
} from '@palisade/protocol';
import type { BatchIndex, BatchResult, IncomingBatch, Storage } from '@palisade/storage';
import type { ListenerMetrics } from '../metrics/registry.js';

/**
 * lazyBatch is an IncomingBatch whose `events` are decoded from `body` each time they are read
 * (the body was checked before, so decoding cannot fail).
 */
function lazyBatch(
  agentId: string,
  seq: bigint,
  body: Uint8Array,
  index: BatchIndex,
  receivedAt: number,
): IncomingBatch {
  return {
    agentId,
    seq,
    body,
    index,
    receivedAt,
    get events(): Event[] {
      return decodeEventBatch(body);
    },
  };
}

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
  /**
   * Groups handed to storage at the same time. Two let the next group be decoded while a back
   * end with its own writer thread commits the previous one. @default 2
   */
  maxConcurrentWrites?: number;
  /** Where commit durations and stored counts are reported (metrics/registry.ts). @default nothing */
  metrics?: ListenerMetrics;
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
  private readonly writing = new Set<Promise<void>>();
  private readonly inFlight = new Map<string, Promise<BatchResult>>();
  private drainWaiters: Array<() => void> = [];
  private readonly maxDelayMs: number;
  private readonly maxEvents: number;
  private readonly maxQueuedBytes: number;
  private readonly maxConcurrentWrites: number;
  /** Counters for benchmarks and health. */
  readonly stats = { commits: 0, batches: 0, events: 0, duplicates: 0, refused: 0, failures: 0 };
  /** When the last group was committed (server clock, ms); null before the first. */
  private lastCommitAt: number | null = null;
  /** Since when storing has failed (the first failed group after a success); null while it works. */
  private failingSince: number | null = null;
  private failedGroups = 0;
  private lastFailure: string | null = null;

  constructor(private readonly o: GroupCommitOptions) {
    this.maxDelayMs = o.maxDelayMs ?? 4;
    this.maxEvents = o.maxEvents ?? 20_000;
    this.maxQueuedBytes = o.maxQueuedBytes ?? 16 * 1024 * 1024;
    this.maxConcurrentWrites = o.maxConcurrentWrites ?? 2;
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
    // When all write slots are busy, the next write to finish picks the queue up.
    if (this.writing.size >= this.maxConcurrentWrites) return;
    this.clearTimer();
    const run = () => {
      this.timer = null;
      const w: Promise<void> = this.writeGroup().finally(() => {
        this.writing.delete(w);
        if (this.queue.length && !this.timer)
          this.kick(this.queuedEvents >= this.maxEvents ? 0 : this.maxDelayMs);
      });
      this.writing.add(w);
      // More than a full group waiting: start the next one in the other slot right away.
      if (this.queuedEvents >= this.maxEvents) this.kick(0);
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

  /**
   * decodeAndStore checks every frame of a group (a decode without text, dropped at once) and,
   * in the same pass, derives each batch's index (times, kinds, search text) from the wire
   * bytes. It hands the valid ones to storage with that index and the body, so a store that
   * uses the index never decodes an event; `events` is a getter that decodes on access for one
   * that does. Decoded events are several times larger than their bytes: holding a group of them
   * made garbage collection the largest cost of ingest. Nothing here keeps events after it returns.
   */
  private decodeAndStore(group: Pending[]): {
    valid: Pending[];
    counts: number[];
    stored: Promise<BatchResult[]>;
  } {
    const valid: Pending[] = [];
    const counts: number[] = [];
    const batches: IncomingBatch[] = [];
    for (const p of group) {
      try {
        const { events: index, body } = decodeBatchWithBody(
          p.frame,
          LIMITS,
          indexEventBatch,
          (ix) => ix.count,
        );
        counts.push(index.count);
        batches.push(lazyBatch(p.agentId, p.frame.seq, body, index, p.receivedAt));
        valid.push(p);
      } catch (err) {
        this.bytes -= p.frame.payload.byteLength;
        this.stats.refused++;
        this.o.metrics?.refused();
        p.reject(err instanceof FrameError ? err : new FrameError('bad_payload', String(err)));
      }
    }
    let stored: Promise<BatchResult[]>;
    try {
      stored = batches.length ? this.o.storage.storeBatches(batches) : Promise.resolve([]);
    } catch (err) {
      stored = Promise.reject(err);
    }
    return { valid, counts, stored };
  }

  private async writeGroup(): Promise<void> {
    const group = this.takeGroup();
    if (group.length === 0) return;
    const started = performance.now();
    const { valid, counts, stored } = this.decodeAndStore(group);
    let results: BatchResult[] | undefined;
    let failure: unknown;
    try {
      results = await stored;
    } catch (err) {
      failure = err;
    }
    const seconds = (performance.now() - started) / 1000;
    let events = 0;
    let fresh = 0;
    let duplicates = 0;
    for (let i = 0; i < valid.length; i++) {
      const p = valid[i]!;
      this.bytes -= p.frame.payload.byteLength;
      const r = results?.[i];
      if (r) {
        this.stats.batches++;
        if (r.duplicate) {
          this.stats.duplicates++;
          duplicates++;
        } else {
          this.stats.events += counts[i]!;
          events += counts[i]!;
          fresh++;
        }
        p.resolve(r);
      } else {
        p.reject(failure ?? new Error('storage returned no result for the batch'));
      }
    }
    if (failure) {
      this.o.metrics?.commitFailed(seconds);
      this.stats.failures++;
      this.onFailure(failure, valid.length);
    } else if (valid.length) {
      this.o.metrics?.committed(seconds, events, fresh, duplicates);
      this.stats.commits++;
      this.onCommit();
    }
    if (!this.overloaded && this.drainWaiters.length) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * onFailure records a failed group. The first failure after a success is logged at error level;
   * the ones that follow while storage keeps failing (every agent resends) only at debug.
   */
  private onFailure(err: unknown, batches: number): void {
    this.failedGroups++;
    this.lastFailure = err instanceof Error ? err.message : String(err);
    if (this.failingSince === null) {
      this.failingSince = this.o.now();
      this.o.logger.error(
        { err: this.lastFailure, batches },
        'storing batches failed; they were not acknowledged and agents will send them again',
      );
    } else this.o.logger.debug({ err: this.lastFailure, batches }, 'storing a group of batches failed again');
  }

  private onCommit(): void {
    this.lastCommitAt = this.o.now();
    if (this.failingSince !== null) {
      this.o.logger.warn(
        { failedGroups: this.failedGroups, downMs: this.lastCommitAt - this.failingSince },
        'storing batches works again',
      );
      this.failingSince = null;
      this.failedGroups = 0;
    }
  }

  /** health tells when the last group was committed and whether storing is failing now. */
  health(): { lastCommitAt: number | null; failingSince: number | null; lastFailure: string | null } {
    return {
      lastCommitAt: this.lastCommitAt,
      failingSince: this.failingSince,
      lastFailure: this.lastFailure,
    };
  }

  /** close writes whatever is queued and waits for it. */
  async close(): Promise<void> {
    for (let i = 0; i < 100_000 && (this.queue.length || this.writing.size || this.timer); i++) {
      this.clearTimer();
      if (this.writing.size) await Promise.all(this.writing);
      else if (this.queue.length) await this.writeGroup();
    }
  }
}
