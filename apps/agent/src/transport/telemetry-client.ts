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
  /**
   * Told that the server refused the credential; returning true means the agent switched to
   * another certificate (see CredentialManager.onRefused) and reconnects at once.
   */
  onCredentialRefused?(): boolean;
  /** Pause after a refused credential: long, a refusal is rarely temporary. @default 30 s doubling to 30 min */
  refusedBackoff?: Backoff;
}

/** Close codes the server ends a session with (apps/server session-revalidation.ts). */
const CLOSE_CERTIFICATE_RETIRED = 4001;
const CLOSE_CREDENTIAL_REFUSED = 4003;

/** Channel is the telemetry listener in use. */
export type Channel = 'primary' | 'standby' | 'disconnected';

/**
 * TelemetryClient keeps one telemetry session open, reconnecting with jittered backoff. When the
 * primary fails (refused, timed out, or not acking) and a standby is known it moves to the
 * standby at once, probes the primary in the background, and fails back when it answers again.
 * A refused credential (401 at the upgrade, or a session closed with 4003) is logged with the
 * server's reason and retried rarely; the agent never re-registers by itself. A session closed
 * because its certificate was retired by a renewal (4001) reconnects at once with the current one.
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
  private readonly refusedBackoff: Backoff;
  /**
   * What sessions log is the server's doing (its frames, its close reasons): one budget for
   * every session, so reconnecting does not reset it, and server-sent text is cut.
   */
  private readonly peerLog: Logger;

  constructor(private readonly o: TelemetryClientOptions) {
    this.backoff = o.backoff ?? new Backoff({ initialMs: 500, maxMs: 30_000 });
    this.refusedBackoff = o.refusedBackoff ?? new Backoff({ initialMs: 30_000, maxMs: 30 * 60_000 });
    this.peerLog = rateLimitedLogger(o.logger, { burst: 10, perSecond: 10 / 60, maxChars: 256 });
  }

  /** reconnect ends the open session and opens a new one on the same listener (a renewed certificate). */
  reconnect(): void {
    this.session?.closeForReconnect();
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
      let delay: number;
      if (end.welcomed) this.refusedBackoff.reset();
      if (end.welcomed && Date.now() - started > 10_000) this.backoff.reset();
      const refused =
        end.refusedStatus === 401 || end.refusedStatus === 403 || end.closeCode === CLOSE_CREDENTIAL_REFUSED;
      if (end.reconnect || end.closeCode === CLOSE_CERTIFICATE_RETIRED) {
        // Same listener, at once, with the certificate in use now.
        this.o.logger.info(
          { url, reason: end.reason },
          'reconnecting telemetry with the current certificate',
        );
        delay = 100;
      } else if (refused) {
        if (this.o.onCredentialRefused?.()) delay = 100;
        else {
          delay = this.refusedBackoff.next();
          this.o.logger.error(
            { url, status: end.refusedStatus, reason: end.reason, retryInS: Math.round(delay / 1000) },
            "the server refused this agent's credential; telemetry stays in the spool (re-enrol with a registration key, see docs/fleet.md); not re-registering",
          );
        }
      } else if (!useStandby && standby && !end.failback) {
        this.report(url, channel, end);
        // Primary failed: go to the standby now, not after a backoff (the 10 s promise).
        this.onStandby = true;
        delay = 100;
      } else if (useStandby && end.failback) {
        this.report(url, channel, end);
        this.onStandby = false;
        delay = 0;
      } else {
        this.report(url, channel, end);
        if (useStandby) this.onStandby = false; // standby failed too: try the primary next
        delay = this.backoff.next();
      }
      await this.sleep(delay);
    }
  }

  private report(url: string, channel: Channel, end: SessionEnd): void {
    const log = this.peerLog;
    if (end.failback) log.info({ url }, 'primary telemetry listener is healthy again: failing back');
    else log.warn({ url, channel, reason: end.reason }, 'telemetry connection ended; reconnecting');
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

  /** heartbeatNow sends a heartbeat on the open session now (the state it reports changed). */
  heartbeatNow(): void {
    this.session?.heartbeatNow();
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
