import { Backoff, type Logger } from '@palisade/common';
import type { CheckInResponse } from '@palisade/protocol';
import { type CheckInReport, checkIn } from './checkin.js';
import { HttpError, type TlsMaterial } from './https-client.js';

/** CheckInLoopOptions configure periodic check-ins. */
export interface CheckInLoopOptions {
  registrationUrl: string;
  tls: TlsMaterial;
  report(): CheckInReport;
  /** Handles an answer; resolving true asks for another check-in at once (a renewed certificate to confirm). */
  onResponse(res: CheckInResponse): Promise<boolean>;
  /**
   * Told that the server refused the credential (401/403); returning true means the agent switched
   * to another certificate and checks in again at once.
   */
  onRefused?(err: HttpError): boolean;
  logger: Logger;
  /** Time between successful check-ins. @default 60000 */
  intervalMs?: number;
  /** Pause after the server refused the credential: long, a refusal is rarely temporary. @default 30 s doubling to 30 min */
  refusedBackoff?: Backoff;
}

/**
 * CheckInLoop checks in at start and then every intervalMs; after a failure it retries with
 * jittered backoff. A refused credential (revoked, decommissioned, expired) is logged with the
 * server's reason and retried rarely (30 s doubling to 30 min): the agent does not re-register by
 * itself, since that needs a registration key, and does not hammer the server.
 */
export class CheckInLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff = new Backoff({ initialMs: 1000, maxMs: 60_000 });
  private readonly refusedBackoff: Backoff;
  /** Resolves after the first check-in attempt, successful or not. */
  readonly firstAttempt: Promise<boolean>;
  private resolveFirst!: (ok: boolean) => void;

  constructor(private readonly o: CheckInLoopOptions) {
    this.refusedBackoff = o.refusedBackoff ?? new Backoff({ initialMs: 30_000, maxMs: 30 * 60_000 });
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
      this.backoff.reset();
      this.refusedBackoff.reset();
      delay = this.o.intervalMs ?? 60_000;
      this.resolveFirst(true);
      if (await this.o.onResponse(res)) delay = 0;
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
        if (this.o.onRefused?.(err)) delay = 0;
        else {
          delay = this.refusedBackoff.next();
          this.o.logger.error(
            { status: err.status, code: err.code, reason: err.message, retryInS: Math.round(delay / 1000) },
            "check-in refused: the server does not accept this agent's credential; not re-registering (re-enrol with a registration key, see docs/fleet.md)",
          );
        }
      } else {
        this.o.logger.warn({ err: (err as Error).message }, 'check-in failed; retrying');
        delay = this.backoff.next();
      }
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
