/** BackoffOptions configure exponential backoff with full jitter. */
export interface BackoffOptions {
  /** First delay, ms. @default 500 */
  initialMs?: number;
  /** Largest delay, ms. @default 30000 */
  maxMs?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** Random source in [0,1), injectable for tests. @default Math.random */
  random?: () => number;
}

/**
 * Backoff yields reconnect delays that grow exponentially up to a cap, each drawn uniformly from
 * [cap/2, cap] so that many agents reconnecting after an outage do not arrive together.
 */
export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.random = opts.random ?? Math.random;
  }

  /** next returns the delay before the next attempt and counts the attempt. */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  /** reset starts over after a success. */
  reset(): void {
    this.attempt = 0;
  }

  /** attempts is how many delays have been handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }
}
