import { Backoff, type Logger } from '@palisade/common';
import {
  type AgentSelf,
  ClientFrameSchema,
  type Command,
  CommandPhase,
  type CommandResult,
  CommandResultSchema,
  type IsolationStatus,
  LIMITS,
  PROTOCOL_VERSION,
  type Policy,
  type SensorStats,
  ServerFrameSchema,
  type Capability,
  type Welcome,
  create,
  fromBinary,
  toBinary,
  wrapBatchFrame,
} from '@palisade/protocol';
import WebSocket from 'ws';
import type { Spool } from '../spool/index.js';
import { AGENT_VERSION } from '../version.js';
import { runCommand } from './commands.js';
import type { TlsMaterial } from './https-client.js';

/** SessionHooks connect a telemetry session to the rest of the agent. */
export interface SessionHooks {
  capabilities(): Capability[];
  stats(): SensorStats;
  policyRevision(): bigint;
  /** A policy arrived (Welcome or Command.set_policy). */
  onPolicy(policy: Policy): void;
  /** The host's actual isolation state, for Hello and heartbeats. */
  isolation?(): IsolationStatus;
  /** What response actions must not touch, for Hello and heartbeats. */
  self?(): AgentSelf;
  /** Welcome arrived (it carries the desired isolation state and the restore code verifier). */
  onWelcome?(w: Welcome): void;
  /** Carries out a command and answers through `reply`; without it only set_policy and ping work. */
  onCommand?(c: Command, reply: (r: CommandResult) => void): void;
}

/** SessionOptions tune one telemetry connection. */
export interface SessionOptions {
  url: string;
  tls: TlsMaterial;
  spool: Spool;
  hooks: SessionHooks;
  logger: Logger;
  /** Batches sent and not yet acked, at most (the server's Welcome may lower it). @default LIMITS.maxInFlightBatches */
  maxInFlight?: number;
  /** The oldest unacked batch may wait this long before the connection is deemed stuck. @default 5000 */
  ackTimeoutMs?: number;
  /** TLS + upgrade + Welcome must complete within this. @default 4000 */
  connectTimeoutMs?: number;
  /** Called once Welcome arrived. */
  onOpen?: () => void;
  /** Heartbeat period before the server says otherwise. @default 30 */
  heartbeatIntervalS?: number;
}

/** SessionEnd says how a telemetry connection ended. */
export interface SessionEnd {
  /** Welcome was received: the server was reachable and accepted us. */
  welcomed: boolean;
  /** The server refused our credential (HTTP status at upgrade), e.g. 401. */
  refusedStatus?: number;
  /** The WebSocket close code, when the server closed the session (4003: credential refused, 4001: certificate retired). */
  closeCode?: number;
  reason: string;
  /** Closed on purpose because the primary is healthy again. */
  failback?: boolean;
  /** Closed on purpose to reconnect with a renewed certificate. */
  reconnect?: boolean;
}

/**
 * TelemetrySession is one WebSocket connection to a telemetry listener: Hello, Welcome, then
 * batches from the spool, pipelined up to a window and removed from the spool when acked. A batch
 * the server refuses stays spooled and is retried with backoff; nothing is ever dropped here.
 */
export class TelemetrySession {
  private ws: WebSocket | undefined;
  private readonly inFlight = new Map<number, number>();
  private readonly retryAt = new Map<number, number>();
  /** The time the current round of retries is due (0: no round). */
  private retryRound = 0;
  private readonly retryBackoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private cursor = 0;
  private window: number;
  /** The most the server allows in flight (Welcome.max_in_flight); FlowControl stays below it. */
  private serverWindow = Number.POSITIVE_INFINITY;
  private pausedUntil = 0;
  private welcomed = false;
  private ended = false;
  private timers: NodeJS.Timeout[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private wake: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private finish!: (end: SessionEnd) => void;
  private readonly log: Logger;

  constructor(private readonly o: SessionOptions) {
    this.window = o.maxInFlight ?? LIMITS.maxInFlightBatches;
    this.log = o.logger.child({ url: o.url });
  }

  /** run connects and streams until the connection ends; it never rejects. */
  run(): Promise<SessionEnd> {
    return new Promise<SessionEnd>((resolve) => {
      this.finish = resolve;
      if (!this.o.url.startsWith('wss://')) {
        // Telemetry never travels in clear text, whatever an endpoint list says.
        this.end({ welcomed: false, reason: `refusing ${this.o.url}: telemetry endpoints must be wss://` });
        return;
      }
      const ws = new WebSocket(this.o.url, {
        ca: this.o.tls.ca,
        cert: this.o.tls.cert,
        key: this.o.tls.key,
        handshakeTimeout: this.o.connectTimeoutMs ?? 4000,
        maxPayload: LIMITS.maxFrameBytes,
        // Batches are LZ4-compressed already; deflate would only spend CPU.
        perMessageDeflate: false,
      });
      this.ws = ws;
      ws.binaryType = 'nodebuffer';
      ws.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        // The server's JSON error says why (e.g. "agent credential revoked"); read a little of it.
        let text = '';
        res.on('data', (c: Buffer) => {
          if (text.length < 1024) text += c.toString('utf8');
        });
        const done = () => {
          let why = '';
          try {
            why = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? '';
          } catch {
            // not JSON
          }
          this.end({
            welcomed: false,
            refusedStatus: status,
            reason: `upgrade refused with HTTP ${status}${why ? `: ${why.slice(0, 300)}` : ''}`,
          });
        };
        res.once('end', done);
        res.once('error', done);
        setTimeout(done, 1000).unref();
      });
      ws.on('open', () => this.sendHello());
      ws.on('message', (data: Buffer) => {
        try {
          this.onMessage(data);
        } catch (err) {
          // A local failure (disk, a sensor) must not take the agent down; the session goes on.
          this.log.error({ err: (err as Error).message }, 'error while handling a server frame');
        }
      });
      ws.on('error', (err) => this.end({ welcomed: this.welcomed, reason: err.message }));
      ws.on('close', (code, reason) =>
        this.end({
          welcomed: this.welcomed,
          closeCode: code,
          reason: `closed ${code} ${reason.toString() || ''}`.trim(),
        }),
      );
      this.timers.push(
        setTimeout(() => {
          if (!this.welcomed) this.end({ welcomed: false, reason: 'no Welcome in time' });
        }, this.o.connectTimeoutMs ?? 4000),
        // A quarter of the ack timeout is precise enough and keeps an idle agent from waking often.
        setInterval(() => this.checkAcks(), Math.max(250, (this.o.ackTimeoutMs ?? 5000) / 4)),
      );
    });
  }

  /** close ends the session (the spool keeps whatever was not acked). */
  close(reason = 'closing'): void {
    this.end({ welcomed: this.welcomed, reason });
  }

  /** closeForFailback ends a standby session because the primary answers again. */
  closeForFailback(): void {
    this.end({ welcomed: this.welcomed, reason: 'failing back to the primary', failback: true });
  }

  /** closeForReconnect ends the session to open a new one on the same listener (a renewed certificate). */
  closeForReconnect(): void {
    this.end({
      welcomed: this.welcomed,
      reason: 'reconnecting with the renewed certificate',
      reconnect: true,
    });
  }

  private end(e: SessionEnd): void {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.wake) clearTimeout(this.wake);
    this.unsubscribe?.();
    const ws = this.ws;
    // A deliberate end says goodbye; a stalled or broken connection is dropped at once.
    const deliberate = e.failback || e.reconnect || e.reason === 'agent stopping';
    if (ws && deliberate && ws.readyState === WebSocket.OPEN) ws.close(1000, e.reason.slice(0, 100));
    else ws?.terminate();
    this.finish(e);
  }

  private sendFrame(kind: ReturnType<typeof create<typeof ClientFrameSchema>>['kind']): void {
    this.ws?.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, { kind })));
  }

  private sendHello(): void {
    const first = BigInt(this.o.spool.stats().ackedSeq + 1);
    this.sendFrame({
      case: 'hello',
      value: {
        $typeName: 'palisade.v1.Hello',
        protocolVersion: PROTOCOL_VERSION,
        agentVersion: AGENT_VERSION,
        policyRevision: this.o.hooks.policyRevision(),
        firstUnackedSeq: first,
        capabilities: this.o.hooks.capabilities(),
        stats: this.o.hooks.stats(),
        ...this.extras(),
      },
    });
  }

  /** extras are the optional report fields (isolation state, protected pids and paths). */
  private extras(): { isolation?: IsolationStatus; self?: AgentSelf } {
    const isolation = this.o.hooks.isolation?.();
    const self = this.o.hooks.self?.();
    return { ...(isolation ? { isolation } : {}), ...(self ? { self } : {}) };
  }

  private onMessage(data: Buffer): void {
    let frame: ReturnType<typeof fromBinary<typeof ServerFrameSchema>>;
    try {
      frame = fromBinary(ServerFrameSchema, data);
    } catch (err) {
      this.log.warn({ msg: (err as Error).message }, 'undecodable frame from server ignored');
      return;
    }
    const k = frame.kind;
    switch (k.case) {
      case 'welcome': {
        this.welcomed = true;
        if (k.value.maxInFlight > 0) {
          // Going over the server's window closes the connection: never send more than it allows.
          this.serverWindow = k.value.maxInFlight;
          this.window = Math.min(this.window, this.serverWindow);
        }
        const lastStored = Number(k.value.lastStoredSeq);
        // The server holds sequences this spool never sealed (state restored from a backup?):
        // number new batches above them so they are not mistaken for duplicates.
        this.o.spool.raiseSeqFloor(lastStored);
        if (k.value.policy) this.o.hooks.onPolicy(k.value.policy);
        this.o.hooks.onWelcome?.(k.value);
        const every = (k.value.heartbeatIntervalS || this.o.heartbeatIntervalS || 30) * 1000;
        this.heartbeat = setInterval(() => this.sendHeartbeat(), every);
        this.unsubscribe = this.o.spool.onSealed(() => this.pump());
        this.log.info({ lastStoredSeq: lastStored }, 'telemetry session open');
        this.o.onOpen?.();
        this.pump();
        break;
      }
      case 'ack':
        this.onAck(Number(k.value.seq));
        break;
      case 'error': {
        const seq = Number(k.value.seq);
        this.log.warn(
          { code: k.value.code, seq, fatal: k.value.fatal, msg: k.value.message },
          'server refused a frame',
        );
        if (seq > 0 && this.inFlight.delete(seq)) {
          // Keep it spooled and try again later; the server may recover (e.g. storage unavailable).
          this.retryAt.set(seq, this.retryRoundAt());
          this.schedulePump(500);
        }
        break;
      }
      case 'flow':
        if (k.value.maxInFlight > 0) this.window = Math.min(k.value.maxInFlight, this.serverWindow);
        if (k.value.pauseMs > 0) {
          this.pausedUntil = Date.now() + k.value.pauseMs;
          this.schedulePump(k.value.pauseMs);
        } else this.pump();
        break;
      case 'command':
        this.onCommand(k.value);
        break;
      default:
        break;
    }
  }

  private onAck(seq: number): void {
    if (!this.inFlight.delete(seq)) {
      this.log.warn({ seq }, 'ack for a batch not in flight on this connection ignored');
      return;
    }
    this.retryBackoff.reset();
    this.retryRound = 0;
    // The server stores again: batches it refused meanwhile go within half a second, not at their
    // backed-off time (the spool's watermark waits for the oldest of them); a batch it keeps
    // refusing costs at most two sends a second.
    const soon = Date.now() + 500;
    for (const [s, at] of this.retryAt) if (at > soon) this.retryAt.set(s, soon);
    this.o.spool.ack(seq);
    this.pump();
  }

  /**
   * retryRoundAt is when a refused batch is tried again. Refusals that arrive before the current
   * round's time share it, so the backoff grows once per round of retries, not once per batch (a
   * window of refusals during a short storage outage would otherwise push the oldest to the cap).
   */
  private retryRoundAt(): number {
    const now = Date.now();
    if (this.retryRound <= now) this.retryRound = now + this.retryBackoff.next();
    return this.retryRound;
  }

  private onCommand(c: Command): void {
    const reply = (r: CommandResult) => {
      if (this.ended) return; // the result is kept by the agent and sent again on the next session
      this.sendFrame({ case: 'commandResult', value: r });
    };
    if (this.o.hooks.onCommand) this.o.hooks.onCommand(c, reply);
    else {
      const { ok, message } = runCommand(c, this.o.hooks);
      reply(create(CommandResultSchema, { id: c.id, ok, message, phase: CommandPhase.FINAL }));
    }
    // Report the policy revision it now runs at once, so the fleet view is not stale for a whole
    // heartbeat interval.
    if (c.action.case === 'setPolicy') this.sendHeartbeat();
  }

  /** heartbeatNow sends a heartbeat at once (e.g. the isolation state changed), if the session is open. */
  heartbeatNow(): void {
    if (this.welcomed && !this.ended) this.sendHeartbeat();
  }

  private sendHeartbeat(): void {
    this.sendFrame({
      case: 'heartbeat',
      value: {
        $typeName: 'palisade.v1.Heartbeat',
        timeMs: BigInt(Date.now()),
        stats: this.o.hooks.stats(),
        policyRevision: this.o.hooks.policyRevision(),
        ...this.extras(),
      },
    });
  }

  private schedulePump(ms: number): void {
    if (this.wake) clearTimeout(this.wake);
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.pump();
    }, ms);
  }

  /** pump sends batches while the window has room: due retries first, then new ones in order. */
  private pump(): void {
    if (this.ended || !this.welcomed || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (now < this.pausedUntil) return;
    const spool = this.o.spool;
    while (this.inFlight.size < this.window) {
      let seq = 0;
      let soonest = Number.POSITIVE_INFINITY;
      for (const [s, at] of this.retryAt) {
        if (at <= now) {
          seq = s;
          break;
        }
        soonest = Math.min(soonest, at);
      }
      let entry = seq ? spool.nextAfter(seq - 1) : undefined;
      if (seq) {
        this.retryAt.delete(seq);
        if (entry?.meta.seq !== seq) continue; // dropped by a cap meanwhile
      } else {
        entry = spool.nextAfter(this.cursor);
        if (!entry) {
          if (soonest !== Number.POSITIVE_INFINITY) this.schedulePump(soonest - now);
          return;
        }
        this.cursor = entry.meta.seq;
        if (this.retryAt.has(entry.meta.seq)) continue;
      }
      const frame = spool.readFrame(entry);
      if (!frame) continue;
      this.inFlight.set(entry.meta.seq, now);
      this.ws.send(wrapBatchFrame(frame));
    }
  }

  private checkAcks(): void {
    const limit = this.o.ackTimeoutMs ?? 5000;
    const now = Date.now();
    for (const sentAt of this.inFlight.values()) {
      if (now - sentAt > limit) {
        this.end({ welcomed: this.welcomed, reason: `no ack within ${limit} ms` });
        return;
      }
    }
  }
}
