import { Backoff, type Logger, rateLimitedLogger } from '@palisade/common';
import type { Spool } from '../spool/index.js';
import type { TlsMaterial } from './https-client.js';
import { probeTls } from './reachability.js';
import { type SessionEnd, type SessionHooks, TelemetrySession } from './telemetry-session.js';

/** TelemetryEndpoints are where telemetry goes; standby may be empty. */
export interface TelemetryEndpoints {
  primary: string;
  standby: string;
}

/** TelemetryClientOptions configure the reconnecting, failing-over telemetry client. */
export interface TelemetryClientOptions {
  endpoints(): TelemetryEndpoints;
  tls: TlsMaterial;
  spool: Spool;
  hooks: SessionHooks;
  logger: Logger;
  maxInFlight?: number;
  ackTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** How often the primary is probed while on the standby. @default 3000 */
  failbackProbeMs?: number;
  /** Reconnect backoff. @default 500 ms .. 30 s, jittered */
  backoff?: Backoff;
}

/** Channel is the telemetry listener in use. */
export type Channel = 'primary' | 'standby' | 'disconnected';

/**
 * TelemetryClient keeps one telemetry session open, reconnecting with jittered backoff. When the
 * primary fails (refused, timed out, or not acking) and a standby is known it moves to the
 * standby at once, probes the primary in the background, and fails back when it answers again.
 * A refused credential (401) is logged as such and retried; the agent never re-registers by itself.
 */
export class TelemetryClient {
  private session: TelemetrySession | undefined;
  private onStandby = false;
  private stopped = false;
  private current: Channel = 'disconnected';
  private sleepTimer: NodeJS.Timeout | undefined;
  private wakeSleep: (() => void) | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private readonly backoff: Backoff;
  /**
   * What sessions log is the server's doing (its frames, its close reasons): one budget for
   * every session, so reconnecting does not reset it, and server-sent text is cut.
   */
  private readonly peerLog: Logger;

  constructor(private readonly o: TelemetryClientOptions) {
    this.backoff = o.backoff ?? new Backoff({ initialMs: 500, maxMs: 30_000 });
    this.peerLog = rateLimitedLogger(o.logger, { burst: 10, windowMs: 60_000, maxChars: 256 });
  }

  /** channel is the listener the current session uses. */
  get channel(): Channel {
    return this.current;
  }

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const { primary, standby } = this.o.endpoints();
      if (!primary) {
        await this.sleep(this.backoff.next());
        continue;
      }
      const useStandby = this.onStandby && !!standby;
      const url = useStandby ? standby : primary;
      const session = new TelemetrySession({
        url,
        tls: this.o.tls,
        spool: this.o.spool,
        hooks: this.o.hooks,
        logger: this.peerLog,
        onOpen: () => {
          this.current = useStandby ? 'standby' : 'primary';
        },
        maxInFlight: this.o.maxInFlight,
        ackTimeoutMs: this.o.ackTimeoutMs,
        connectTimeoutMs: this.o.connectTimeoutMs,
      });
      this.session = session;
      const channel: Channel = useStandby ? 'standby' : 'primary';
      const started = Date.now();
      if (useStandby) this.startProbing(primary);
      const end = await session.run();
      this.stopProbing();
      this.session = undefined;
      this.current = 'disconnected';
      if (this.stopped) break;
      this.report(url, channel, end);
      let delay: number;
      if (end.welcomed && Date.now() - started > 10_000) this.backoff.reset();
      if (!useStandby && standby && !end.failback) {
        // Primary failed: go to the standby now, not after a backoff (the 10 s promise).
        this.onStandby = true;
        delay = 100;
      } else if (useStandby && end.failback) {
        this.onStandby = false;
        delay = 0;
      } else {
        if (useStandby) this.onStandby = false; // standby failed too: try the primary next
        delay = this.backoff.next();
      }
      await this.sleep(delay);
    }
  }

  private report(url: string, channel: Channel, end: SessionEnd): void {
    const log = this.peerLog;
    if (end.failback) log.info({ url }, 'primary telemetry listener is healthy again: failing back');
    else if (end.refusedStatus === 401 || end.refusedStatus === 403) {
      log.error(
        { url, status: end.refusedStatus },
        "the server refused this agent's credential (revoked or decommissioned?); retrying with backoff, not re-registering",
      );
    } else log.warn({ url, channel, reason: end.reason }, 'telemetry connection ended; reconnecting');
  }

  private startProbing(primary: string): void {
    const every = this.o.failbackProbeMs ?? 3000;
    const tick = async () => {
      const ok = await probeTls(primary, this.o.tls, Math.min(2000, every));
      if (this.stopped || !this.session) return;
      if (ok) this.session.closeForFailback();
      else this.probeTimer = setTimeout(tick, every);
    };
    this.probeTimer = setTimeout(tick, every);
  }

  private stopProbing(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeSleep = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  /** stop closes the session and ends the reconnect loop. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopProbing();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wakeSleep?.();
    this.session?.close('agent stopping');
    await this.loop;
  }
}
