import type { Event } from '@palisade/protocol';

/** DedupOptions configure a LoginRecordDedup. */
export interface DedupOptions {
  /** How far apart (ms) a log line and a login record of the same login may arrive. @default 5000 */
  windowMs?: number;
  /** Whether any log source is following a file right now; if not, records pass at once. */
  logActive: () => boolean;
  emit: (event: Event) => void;
  /** @default Date.now */
  now?: () => number;
}

const MAX_RECENT = 4096;
const MAX_PENDING = 1024;

/** dedupKey identifies "the same login" across sources: outcome, account, remote address. */
export function dedupKey(e: Event): string {
  return `${e.statusId}|${e.user?.name ?? ''}|${e.srcEndpoint?.ip ?? ''}`;
}

/**
 * LoginRecordDedup drops wtmp/btmp logins that a log line already reported. Log lines are the
 * better record (they name the service and method and are what detection rules match), so they
 * pass at once. A login record passes only if no log event with the same dedupKey arrived within
 * the window before it, or arrives within the window after it (it is held that long). Logoffs
 * have no log counterpart here and pass at once; so does everything when no log is followed.
 */
export class LoginRecordDedup {
  private readonly recent = new Map<string, number>();
  private readonly pending = new Map<Event, { key: string; timer: NodeJS.Timeout }>();
  private readonly windowMs: number;
  private readonly now: () => number;
  /** Login records dropped as duplicates of log lines. */
  deduplicated = 0;

  constructor(private readonly o: DedupOptions) {
    this.windowMs = o.windowMs ?? 5000;
    this.now = o.now ?? Date.now;
  }

  /** fromLog passes a log (or stand-in audit) event on and cancels held login records it duplicates. */
  fromLog(e: Event): void {
    const key = dedupKey(e);
    this.recent.delete(key);
    this.recent.set(key, this.now());
    this.prune();
    for (const [held, p] of this.pending) {
      if (p.key !== key) continue;
      clearTimeout(p.timer);
      this.pending.delete(held);
      this.deduplicated++;
    }
    this.o.emit(e);
  }

  /** fromLoginRecord passes, drops or holds a wtmp/btmp event. */
  fromLoginRecord(e: Event): void {
    if (e.activityId === 2 || !this.o.logActive()) {
      this.o.emit(e);
      return;
    }
    const key = dedupKey(e);
    const seen = this.recent.get(key);
    if (seen !== undefined && this.now() - seen <= this.windowMs) {
      this.deduplicated++;
      return;
    }
    if (this.pending.size >= MAX_PENDING) {
      const [oldest] = this.pending.keys();
      if (oldest) this.release(oldest);
    }
    const timer = setTimeout(() => this.release(e), this.windowMs);
    timer.unref();
    this.pending.set(e, { key, timer });
  }

  /** flush emits every held record now (on stop: nothing is lost). */
  flush(): void {
    for (const e of [...this.pending.keys()]) this.release(e);
  }

  private release(e: Event): void {
    const p = this.pending.get(e);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(e);
    this.o.emit(e);
  }

  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    for (const [k, t] of this.recent) {
      // Insertion order is arrival order: stop at the first entry still inside the window.
      if (t >= cutoff && this.recent.size <= MAX_RECENT) break;
      this.recent.delete(k);
    }
  }
}
