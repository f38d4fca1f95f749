import { Backoff, type Logger } from '@palisade/common';
import type { CheckInResponse } from '@palisade/protocol';
import { type CheckInReport, checkIn } from './checkin.js';
import { HttpError, type TlsMaterial } from './https-client.js';

/** CheckInLoopOptions configure periodic check-ins. */
export interface CheckInLoopOptions {
  registrationUrl: string;
  tls: TlsMaterial;
  report(): CheckInReport;
  onResponse(res: CheckInResponse): void;
  logger: Logger;
  /** Time between successful check-ins. @default 60000 */
  intervalMs?: number;
}

/**
 * CheckInLoop checks in at start and then every intervalMs; after a failure it retries with
 * jittered backoff. A refused credential is logged as such; the agent does not re-register.
 */
export class CheckInLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
  /** Resolves after the first check-in attempt, successful or not. */
  readonly firstAttempt: Promise<boolean>;
  private resolveFirst!: (ok: boolean) => void;

  constructor(private readonly o: CheckInLoopOptions) {
    this.firstAttempt = new Promise((r) => {
      this.resolveFirst = r;
    });
  }

  start(): void {
    void this.tick();
  }

  /** now checks in immediately (e.g. after a policy change was applied). */
  now(): void {
    if (this.timer) clearTimeout(this.timer);
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let delay: number;
    try {
      const res = await checkIn(this.o.registrationUrl, this.o.tls, this.o.report());
      if (this.stopped) return;
      this.o.onResponse(res);
      this.backoff.reset();
      delay = this.o.intervalMs ?? 60_000;
      this.resolveFirst(true);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
        this.o.logger.error(
          { status: err.status, code: err.code },
          "check-in refused: the server does not accept this agent's credential (revoked or decommissioned?); retrying with backoff, not re-registering",
        );
      } else this.o.logger.warn({ err: (err as Error).message }, 'check-in failed; retrying');
      delay = this.backoff.next();
      this.resolveFirst(false);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.resolveFirst(false);
  }
}
