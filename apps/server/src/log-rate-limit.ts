/**
 * LogRateLimit lets at most `perWindow` log lines of one kind through every `windowMs`, so that a
 * condition a peer can trigger again and again (a search over a bad stored batch) cannot flood the
 * log. What it holds back is counted and reported with the next line it lets through.
 */
export class LogRateLimit {
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private held = 0;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** take returns null when the line must be dropped, else how many were dropped before it. */
  take(): { suppressed: number } | null {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perWindow) {
      this.held++;
      return null;
    }
    this.inWindow++;
    const suppressed = this.held;
    this.held = 0;
    return { suppressed };
  }
}
