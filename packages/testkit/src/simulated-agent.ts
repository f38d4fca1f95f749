import {
  type Ack,
  type AgentSelf,
  ClientFrameSchema,
  type Command,
  type CommandResult,
  type IsolationStatus,
  type ErrorFrame,
  type FlowControl,
  type Event,
  LIMITS,
  PROTOCOL_VERSION,
  type SensorStats,
  ServerFrameSchema,
  type Welcome,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import WebSocket from 'ws';
import { type PreparedBatch, batchClientFrame, prepareBatch } from './batch-frame.js';
import { type AgentIdentity, type RegisterOptions, checkIn, registerAgent } from './identity.js';

/** BatchRefused is how sendBatch rejects when the server answers the batch with an ErrorFrame. */
export class BatchRefused extends Error {
  constructor(readonly frame: ErrorFrame) {
    super(`batch ${frame.seq} refused: ${frame.code}: ${frame.message}`);
    this.name = 'BatchRefused';
  }
}

/** ConnectOptions adjust one telemetry connection. */
export interface ConnectOptions {
  /** @default the primary telemetry URL from registration */
  url?: string;
  /** @default PROTOCOL_VERSION */
  protocolVersion?: number;
  /** Most batches sent and not yet acked; sendBatch waits beyond it (and below Welcome.max_in_flight). @default 8 */
  window?: number;
  /** @default 10000 */
  timeoutMs?: number;
  /** Reported in Hello: the host's isolation state and what response actions must not touch. */
  isolation?: IsolationStatus;
  self?: AgentSelf;
}

interface Waiter {
  resolve(a: Ack): void;
  reject(e: Error): void;
}

/**
 * SimulatedAgent is an agent without sensors for tests and benchmarks: it registers over real
 * HTTPS with its own key pair, checks in, and speaks the real telemetry protocol over WSS with its
 * client certificate. Batches are pipelined up to a window; each sendBatch resolves with its Ack.
 */
export class SimulatedAgent {
  private ws: WebSocket | null = null;
  /** Waiters per sequence number (a resend of a pending seq queues behind the first send). */
  private readonly pending = new Map<bigint, Waiter[]>();
  private inFlight = 0;
  private windowWaiters: Array<() => void> = [];
  private window = 8;
  /** Next sequence number sendBatch uses. */
  nextSeq = 1n;
  /** ErrorFrames that concern no batch (garbage frames, protocol errors), oldest first. */
  readonly errors: ErrorFrame[] = [];
  /** Commands the server pushed. */
  readonly commands: Command[] = [];
  /** FlowControl frames received (they are obeyed: window and pause), and the last one. */
  flowFrames = 0;
  lastFlow: FlowControl | null = null;
  private pausedUntil = 0;
  /** Close code of the last connection, once closed. */
  closeCode: number | null = null;
  private closeWaiters: Array<(code: number) => void> = [];
  private errorWaiters: Array<(e: ErrorFrame) => void> = [];

  constructor(readonly identity: AgentIdentity) {}

  /** register creates and registers a new simulated agent. */
  static async register(o: RegisterOptions): Promise<SimulatedAgent> {
    return new SimulatedAgent(await registerAgent(o));
  }

  get agentId(): string {
    return this.identity.agentId;
  }

  /** checkIn posts a check-in over mutual TLS. */
  checkIn(req?: Parameters<typeof checkIn>[1]) {
    return checkIn(this.identity, req);
  }

  /** connect opens the WSS session and resolves with the server's Welcome (rejects on refusal). */
  connect(o: ConnectOptions = {}): Promise<Welcome> {
    const url = o.url ?? this.identity.endpoints?.telemetryPrimaryUrl;
    if (!url) throw new Error('no telemetry URL: pass one or register first');
    this.window = o.window ?? 8;
    this.closeCode = null;
    const ws = new WebSocket(url, {
      ca: this.identity.caPem,
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      perMessageDeflate: false,
      maxPayload: LIMITS.maxFrameBytes,
      handshakeTimeout: o.timeoutMs ?? 10_000,
    });
    this.ws = ws;
    return new Promise<Welcome>((resolve, reject) => {
      let welcomed = false;
      const timer = setTimeout(() => {
        reject(new Error('no Welcome within the timeout'));
        ws.terminate();
      }, o.timeoutMs ?? 10_000);
      ws.on('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          reject(new Error(`upgrade refused: ${res.statusCode} ${Buffer.concat(chunks).toString()}`)),
        );
      });
      ws.on('error', (err) => {
        clearTimeout(timer);
        if (!welcomed) reject(err);
      });
      ws.on('open', () => {
        this.sendFrame(
          toBinary(
            ClientFrameSchema,
            create(ClientFrameSchema, {
              kind: {
                case: 'hello',
                value: {
                  protocolVersion: o.protocolVersion ?? PROTOCOL_VERSION,
                  agentVersion: '0.1.0-sim',
                  ...(o.isolation ? { isolation: o.isolation } : {}),
                  ...(o.self ? { self: o.self } : {}),
                },
              },
            }),
          ),
        );
      });
      ws.on('message', (data: Buffer) => {
        const f = fromBinary(ServerFrameSchema, data);
        const k = f.kind;
        if (k.case === 'welcome') {
          welcomed = true;
          // The server closes a connection that goes over the window it announces.
          if (k.value.maxInFlight > 0) this.window = Math.min(this.window, k.value.maxInFlight);
          clearTimeout(timer);
          resolve(k.value);
        } else if (k.case === 'ack') {
          const w = this.takeWaiter(k.value.seq);
          if (w) {
            this.releaseWindow();
            w.resolve(k.value);
          }
        } else if (k.case === 'error') {
          this.onError(k.value, welcomed ? undefined : reject, timer);
        } else if (k.case === 'command') {
          this.commands.push(k.value);
        } else if (k.case === 'flow') {
          this.flowFrames++;
          this.lastFlow = k.value;
          if (k.value.maxInFlight > 0) this.window = k.value.maxInFlight;
          this.pausedUntil = Date.now() + k.value.pauseMs;
        }
      });
      ws.on('close', (code) => {
        clearTimeout(timer);
        this.closeCode = code;
        if (!welcomed) reject(new Error(`connection closed with ${code} before Welcome`));
        for (const [, ws] of this.pending)
          for (const w of ws) w.reject(new Error(`connection closed with ${code}`));
        this.pending.clear();
        this.inFlight = 0;
        this.releaseWindow(true);
        for (const c of this.closeWaiters.splice(0)) c(code);
      });
    });
  }

  private onError(
    e: ErrorFrame,
    rejectConnect: ((err: Error) => void) | undefined,
    timer: NodeJS.Timeout,
  ): void {
    const w = e.seq ? this.takeWaiter(e.seq) : undefined;
    if (w) {
      this.releaseWindow();
      w.reject(new BatchRefused(e));
      return;
    }
    if (rejectConnect) {
      clearTimeout(timer);
      rejectConnect(new BatchRefused(e));
    }
    this.errors.push(e);
    for (const c of this.errorWaiters.splice(0)) c(e);
  }

  private takeWaiter(seq: bigint): Waiter | undefined {
    const list = this.pending.get(seq);
    const w = list?.shift();
    if (list && list.length === 0) this.pending.delete(seq);
    if (w) this.inFlight--;
    return w;
  }

  private releaseWindow(all = false): void {
    if (all) for (const w of this.windowWaiters.splice(0)) w();
    else this.windowWaiters.shift()?.();
  }

  /** sendFrame sends raw bytes as one binary WebSocket message (for malformed-frame tests). */
  sendFrame(bytes: Uint8Array | string): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error('not connected');
    this.ws.send(bytes);
  }

  /**
   * sendBatch sends events (or a PreparedBatch, to skip encoding) under the next sequence number,
   * or under `seq` when given (to resend), waiting while the window is full. Resolves with the Ack;
   * rejects with BatchRefused when the server refuses the batch.
   */
  async sendBatch(batch: Event[] | PreparedBatch, seq?: bigint): Promise<Ack> {
    const prepared = Array.isArray(batch) ? prepareBatch(batch) : batch;
    for (;;) {
      // The server may ask for a pause (FlowControl): honour it before taking a window slot.
      const pause = this.pausedUntil - Date.now();
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
      if (this.inFlight < this.window) break;
      await new Promise<void>((r) => this.windowWaiters.push(r));
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error('connection closed');
    }
    const s = seq ?? this.nextSeq++;
    const p = new Promise<Ack>((resolve, reject) => {
      const list = this.pending.get(s);
      if (list) list.push({ resolve, reject });
      else this.pending.set(s, [{ resolve, reject }]);
    });
    this.inFlight++;
    this.sendFrame(batchClientFrame(s, prepared));
    return p;
  }

  /** sendCommandResult answers a command (a receipt or its outcome). */
  sendCommandResult(r: CommandResult): void {
    this.sendFrame(
      toBinary(ClientFrameSchema, create(ClientFrameSchema, { kind: { case: 'commandResult', value: r } })),
    );
  }

  /** nextCommand resolves with the next pushed command for which `match` holds. */
  async nextCommand(match: (c: Command) => boolean = () => true, timeoutMs = 5000): Promise<Command> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.commands.find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error('no matching command within the timeout');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** sendHeartbeat reports counters (and, when given, the isolation state and protected pids). */
  sendHeartbeat(
    stats?: Partial<Omit<SensorStats, '$typeName'>>,
    policyRevision = 0n,
    extra: { isolation?: IsolationStatus; self?: AgentSelf } = {},
  ): void {
    this.sendFrame(
      toBinary(
        ClientFrameSchema,
        create(ClientFrameSchema, {
          kind: {
            case: 'heartbeat',
            value: { timeMs: BigInt(Date.now()), policyRevision, ...(stats ? { stats } : {}), ...extra },
          },
        }),
      ),
    );
  }

  /** nextError resolves with the next ErrorFrame that concerns no pending batch. */
  nextError(timeoutMs = 5000): Promise<ErrorFrame> {
    const queued = this.errors.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no ErrorFrame within the timeout')), timeoutMs);
      this.errorWaiters.push((e) => {
        clearTimeout(t);
        this.errors.splice(this.errors.indexOf(e), 1);
        resolve(e);
      });
    });
  }

  /** closed resolves with the close code when the connection closes. */
  closed(timeoutMs = 5000): Promise<number> {
    if (this.closeCode !== null) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('connection did not close in time')), timeoutMs);
      this.closeWaiters.push((c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
  }

  /** close ends the telemetry connection. */
  async close(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const done = this.closed(2000).catch(() => ws.terminate());
    ws.close(1000, 'agent closing');
    await done;
  }
}
