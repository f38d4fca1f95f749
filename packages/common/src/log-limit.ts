import { TokenBuckets } from './token-buckets.js';

/** LogLimiterOptions tune a LogLimiter. */
export interface LogLimiterOptions {
  /** Lines let through at once per key before limiting starts. @default 10 */
  burst?: number;
  /** Lines per second per key let through after that. @default 1 */
  perSecond?: number;
  /** Keys remembered; beyond it the least recently used are forgotten. @default 10000 */
  maxKeys?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * LogLimiter limits log lines that a remote peer can cause, with a token bucket per key (a log
 * site and the peer that triggers it, say): a peer sending garbage gets `burst` lines, then
 * `perSecond`. `take(key)` says whether to write the line; when it lets one through after others
 * were dropped it says how many, so the log keeps an exact count of what it left out.
 */
export class LogLimiter {
  private readonly buckets: TokenBuckets;
  /** Lines dropped per key since its last line let through (bounded like the buckets). */
  private readonly dropped = new Map<string, number>();
  private readonly maxKeys: number;

  constructor(o: LogLimiterOptions = {}) {
    this.maxKeys = o.maxKeys ?? 10_000;
    this.buckets = new TokenBuckets({
      burst: o.burst ?? 10,
      perSecond: o.perSecond ?? 1,
      maxKeys: this.maxKeys,
      ...(o.now ? { now: o.now } : {}),
    });
  }

  /**
   * take returns undefined when the line for `key` should be dropped; otherwise the number of
   * lines for `key` dropped since the last one let through (0 mostly), to be logged with it.
   */
  take(key: string): number | undefined {
    if (this.buckets.take(key) > 0) {
      const n = this.dropped.get(key);
      if (n === undefined && this.dropped.size >= this.maxKeys) {
        const oldest = this.dropped.keys().next().value;
        if (oldest !== undefined) this.dropped.delete(oldest);
      }
      this.dropped.set(key, (n ?? 0) + 1);
      return undefined;
    }
    const n = this.dropped.get(key) ?? 0;
    this.dropped.delete(key);
    return n;
  }
}

/**
 * truncateForLog bounds a value a peer sent before it goes into a log line: text longer than
 * `max` characters is cut and says how long it was; other values are stringified first.
 */
export function truncateForLog(value: unknown, max = 200): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length} chars)`;
}
