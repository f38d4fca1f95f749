import type { ListenerMetrics } from '../metrics/registry.js';

/** FlowTarget is a connection the flow controller can ask to slow down or speed up again. */
export interface FlowTarget {
  /** sendFlow sends a FlowControl frame: at most `maxInFlight` unacked batches, pause `pauseMs` now. */
  sendFlow(maxInFlight: number, pauseMs: number): void;
}

/** FlowControlOptions tune when agents are told to slow down. */
export interface FlowControlOptions {
  /** The writer's hard cap (connections stop reading above it). Same default as GroupCommitWriter. */
  maxQueuedBytes?: number;
  /** Queued bytes above which senders are slowed. @default half the cap */
  slowAboveBytes?: number;
  /** Queued bytes below which slowed senders get their window back. @default a quarter of the cap */
  resumeBelowBytes?: number;
  /** Window a slowed agent may keep unacked. @default 1 */
  slowWindow?: number;
  /** Window restored when the pressure is gone (the window Welcome announced). @default 8 */
  normalWindow?: number;
  /** Longest pause asked for at once, ms. @default 1000 */
  maxPauseMs?: number;
  /** How often recovery is checked while agents are slowed, ms. @default 50 */
  checkMs?: number;
  /** Where slow-down and resume frames are counted (metrics/registry.ts). @default nothing */
  metrics?: Pick<ListenerMetrics, 'slowedDown' | 'resumed'>;
}

const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/**
 * FlowController tells agents to slow down before the server has to stop reading from them. When
 * the group-commit queue is over the slow-down mark, a connection that hands in a batch gets a
 * FlowControl frame (window 1, and a pause that grows with how full the queue is); once its pause
 * is over and the queue is still full, it is paused again. When the queue falls below the resume
 * mark, every slowed connection gets its normal window back. The writer's hard cap (sockets stop
 * being read) stays as the last line, so memory is bounded even for agents that ignore this.
 */
export class FlowController {
  private readonly slowed = new Map<FlowTarget, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly cap: number;
  private readonly slowAbove: number;
  private readonly resumeBelow: number;
  /** Counters for health and tests: FlowControl frames sent to slow down and to resume. */
  readonly stats = { slowDowns: 0, resumes: 0 };

  constructor(
    private readonly queuedBytes: () => number,
    private readonly now: () => number,
    private readonly o: FlowControlOptions = {},
  ) {
    this.cap = o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.slowAbove = o.slowAboveBytes ?? Math.floor(this.cap / 2);
    this.resumeBelow = o.resumeBelowBytes ?? Math.floor(this.cap / 4);
  }

  /** slowedCount is how many connections are slowed right now. */
  get slowedCount(): number {
    return this.slowed.size;
  }

  /** onBatch is called after `target` handed a batch to the writer. */
  onBatch(target: FlowTarget): void {
    const q = this.queuedBytes();
    if (q <= this.slowAbove) return;
    const now = this.now();
    const until = this.slowed.get(target);
    if (until !== undefined && now < until) return;
    const fill = Math.min(1, (q - this.slowAbove) / Math.max(1, this.cap - this.slowAbove));
    const maxPause = this.o.maxPauseMs ?? 1000;
    const pauseMs = Math.round(Math.min(maxPause, 100 + fill * (maxPause - 100)));
    target.sendFlow(this.o.slowWindow ?? 1, pauseMs);
    this.slowed.set(target, now + pauseMs);
    this.stats.slowDowns++;
    this.o.metrics?.slowedDown();
    this.arm();
  }

  /** forget drops a closed connection. */
  forget(target: FlowTarget): void {
    this.slowed.delete(target);
  }

  /** close stops the recovery timer. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.slowed.clear();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.o.checkMs ?? 50);
    this.timer.unref();
  }

  private check(): void {
    if (this.queuedBytes() > this.resumeBelow) return;
    for (const target of this.slowed.keys()) {
      target.sendFlow(this.o.normalWindow ?? 8, 0);
      this.stats.resumes++;
      this.o.metrics?.resumed();
    }
    this.close();
  }
}
