/**
 * BytePacer limits a byte rate: `take(n)` resolves when `n` more bytes may pass. The budget
 * refills at `bytesPerSecond` and holds at most one second of it, so a pause does not buy a burst
 * larger than a second's worth. A rate of 0 means unlimited. Callers share one pacer to share one
 * limit (the receiver has one global pacer and one per agent).
 */
export class BytePacer {
  private tokens: number;
  private at: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = bytesPerSecond;
    this.at = now();
  }

  /** wait is how long, ms, `n` bytes must wait now; it takes them from the budget. */
  reserve(n: number): number {
    if (this.bytesPerSecond <= 0) return 0;
    const now = this.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.at) * this.bytesPerSecond) / 1000);
    this.at = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.bytesPerSecond);
  }

  /** take resolves once `n` bytes may pass. */
  async take(n: number): Promise<void> {
    const ms = this.reserve(n);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }
}
