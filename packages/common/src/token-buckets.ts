/** TokenBucketsOptions tune TokenBuckets. */
export interface TokenBucketsOptions {
  /** Tokens a key starts with and can save up. */
  burst: number;
  /** Tokens a key gains per second. */
  perSecond: number;
  /** Keys remembered; beyond it the least recently used are forgotten. @default 10000 */
  maxKeys?: number;
  /** @default Date.now */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * TokenBuckets is one token bucket per key (a source address, a log site): each key may do `burst`
 * things at once, then `perSecond`. Memory is bounded by `maxKeys`: when full, the least recently
 * used key is forgotten (it starts again with a full bucket, so an attacker cycling through many
 * keys gains at most that).
 */
export class TokenBuckets {
  private readonly perMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly o: TokenBucketsOptions) {
    this.perMs = o.perSecond / 1000;
    this.maxKeys = o.maxKeys ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  private bucket(key: string): Bucket {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.o.burst, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
      this.buckets.delete(key); // re-inserted: the Map's order is least recently used first
    } else {
      b = { tokens: this.o.burst, at: now };
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    }
    this.buckets.set(key, b);
    return b;
  }

  /**
   * take spends one token of `key` and returns 0, or, when it has none, spends nothing and returns
   * the ms until it will have one (what a Retry-After says).
   */
  take(key: string): number {
    const b = this.bucket(key);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return this.perMs > 0 ? Math.ceil((1 - b.tokens) / this.perMs) : Number.POSITIVE_INFINITY;
  }

  /** size is the number of keys remembered. */
  get size(): number {
    return this.buckets.size;
  }
}
