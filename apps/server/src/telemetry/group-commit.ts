import type { Logger } from '@palisade/common';
import type { Event } from '@palisade/protocol';
import type { BatchResult, IncomingBatch, Storage } from '@palisade/storage';

/** GroupCommitOptions tune the writer. */
export interface GroupCommitOptions {
  storage: Storage;
  logger: Logger;
  now: () => number;
  /** Longest a batch waits for others to join its transaction, ms. @default 4 */
  maxDelayMs?: number;
  /** Events that make a group big enough to write at once. @default 20000 */
  maxEvents?: number;
  /** Bytes (uncompressed batch size) queued or being written beyond which senders must pause. @default 64 MiB */
  maxQueuedBytes?: number;
}

interface Pending {
  batch: IncomingBatch;
  bytes: number;
  resolve(r: BatchResult): void;
  reject(err: unknown): void;
}

/**
 * GroupCommitWriter collects batches from every connection for a few ms (or until enough events
 * arrive) and stores them with one `storage.storeBatches` call, so the cost of a durable commit
 * is shared by many batches. A batch's promise resolves only after that call resolved, which is
 * what makes an ack mean "durably stored". Memory is bounded: when more than `maxQueuedBytes`
 * wait, `overloaded` is true and connections stop reading until `onDrain` fires.
 */
export class GroupCommitWriter {
  private queue: Pending[] = [];
  private queuedEvents = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private readonly inFlight = new Map<string, Promise<BatchResult>>();
  private drainWaiters: Array<() => void> = [];
  private readonly maxDelayMs: number;
  private readonly maxEvents: number;
  private readonly maxQueuedBytes: number;
  /** Counters for benchmarks and health. */
  readonly stats = { commits: 0, batches: 0, events: 0, duplicates: 0, failures: 0 };

  constructor(private readonly o: GroupCommitOptions) {
    this.maxDelayMs = o.maxDelayMs ?? 4;
    this.maxEvents = o.maxEvents ?? 20_000;
    this.maxQueuedBytes = o.maxQueuedBytes ?? 64 * 1024 * 1024;
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
   * submit queues one batch and resolves when it is durably stored (or found stored before). The
   * same (agent, seq) submitted again while the first is still on its way resolves as duplicate
   * once the first is stored.
   */
  submit(agentId: string, seq: bigint, events: Event[], bytes: number): Promise<BatchResult> {
    const key = `${agentId}/${seq}`;
    const earlier = this.inFlight.get(key);
    if (earlier) return earlier.then(() => ({ agentId, seq, duplicate: true }));
    const p = new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ batch: { agentId, seq, events, receivedAt: this.o.now() }, bytes, resolve, reject });
    });
    this.inFlight.set(key, p);
    const forget = () => this.inFlight.delete(key);
    p.then(forget, forget);
    this.bytes += bytes;
    this.queuedEvents += events.length;
    if (this.queuedEvents >= this.maxEvents) this.kick(0);
    else if (!this.timer) this.kick(this.maxDelayMs);
    return p;
  }

  private kick(delayMs: number): void {
    if (this.writing) return; // the running write picks the queue up when it ends
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writing = this.writeGroup().finally(() => {
        this.writing = null;
        if (this.queue.length) this.kick(this.queuedEvents >= this.maxEvents ? 0 : this.maxDelayMs);
      });
    }, delayMs);
  }

  private async writeGroup(): Promise<void> {
    const group = this.queue;
    this.queue = [];
    this.queuedEvents = 0;
    if (group.length === 0) return;
    let results: BatchResult[] | undefined;
    let failure: unknown;
    try {
      results = await this.o.storage.storeBatches(group.map((p) => p.batch));
    } catch (err) {
      failure = err;
    }
    for (let i = 0; i < group.length; i++) {
      const p = group[i]!;
      this.bytes -= p.bytes;
      const r = results?.[i];
      if (r) {
        this.stats.batches++;
        if (r.duplicate) this.stats.duplicates++;
        else this.stats.events += p.batch.events.length;
        p.resolve(r);
      } else {
        p.reject(failure ?? new Error('storage returned no result for the batch'));
      }
    }
    if (failure) {
      this.stats.failures++;
      this.o.logger.error({ err: failure, batches: group.length }, 'storing a group of batches failed');
    } else {
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
    for (let i = 0; i < 1000 && (this.queue.length || this.writing || this.timer); i++) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      if (this.writing) await this.writing;
      else if (this.queue.length) {
        this.writing = this.writeGroup();
        await this.writing;
        this.writing = null;
      }
    }
  }
}
