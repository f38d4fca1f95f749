import type { Clock, Logger } from '@palisade/common';
import {
  type AgentSelf,
  ClientFrameSchema,
  type Command,
  type CommandResult,
  type EventBatchFrame,
  FrameError,
  type Hello,
  type IsolationDesired,
  type IsolationStatus,
  LIMITS,
  PROTOCOL_VERSION,
  ServerFrameSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type SensorStats,
  type ServerFrame,
  type RestoreCodeVerifier,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import type { AgentRecord, Storage } from '@palisade/storage';
import type { WebSocket } from 'ws';
import { peerLogger } from '../peer-log.js';
import type { AuthenticatedPeer } from '../http/peer-auth.js';
import { capabilitiesFromWire, policyToWire, statsFromWire } from '../registration/wire-records.js';
import type { FlowController, FlowTarget } from './flow-control.js';
import type { GroupCommitWriter } from './group-commit.js';
import type { HeartbeatCoalescer } from './heartbeat-coalescer.js';
import type { LiveSession, SessionTable } from './session-table.js';
import type { ListenerMetrics } from '../metrics/registry.js';

/**
 * ResponseHooks are what a telemetry connection hands to the response side (ResponseService):
 * reports of the agent's isolation state, command results, and what Welcome must carry.
 */
export interface ResponseHooks {
  report(
    agentId: string,
    r: { isolation?: IsolationStatus | undefined; self?: AgentSelf | undefined },
  ): Promise<void>;
  onResult(agentId: string, r: CommandResult): Promise<void>;
  desiredFor(agentId: string): Promise<IsolationDesired>;
  verifierFor(agentId: string): Promise<RestoreCodeVerifier>;
  /** Sends the agent every command still waiting for its outcome. */
  deliverOpen(agentId: string): Promise<number>;
}

/** ConnectionDeps are the shared parts every agent connection uses. */
export interface ConnectionDeps {
  storage: Storage;
  writer: GroupCommitWriter;
  heartbeats: HeartbeatCoalescer;
  sessions: SessionTable;
  clock: Clock;
  logger: Logger;
  heartbeatIntervalS: number;
  channel: 'primary' | 'standby';
  /** Tells agents to slow down while the writer is backed up (optional: tests may leave it out). */
  flow?: FlowController;
  /** Batches a connection may have unacked; announced in Welcome, enforced. @default LIMITS.maxInFlightBatches */
  maxInFlight?: number;
  /** The response side (absent in a standby-only process, which delivers no commands). */
  response?: ResponseHooks;
  /** Where received batches and ack latency are reported (metrics/registry.ts). @default nothing */
  metrics?: ListenerMetrics;
}

type ServerFrameKind = ServerFrame['kind'];

/**
 * AgentConnection speaks the telemetry protocol with one authenticated agent: Hello first, then
 * batches (decoded, handed to the group-commit writer, acked once stored), heartbeats and command
 * results. A bad frame gets an ErrorFrame and the connection stays usable; only a protocol
 * version mismatch or a missing Hello is fatal.
 */
export class AgentConnection implements FlowTarget {
  private session: LiveSession | null = null;
  /** Frames that arrive while Hello is being answered; null once the session is open. */
  private early: Buffer[] | null = [];
  private earlyBytes = 0;
  private helloSeen = false;
  private closed = false;
  private paused = false;
  /** Batches handed to the writer and not yet answered (ack or error). */
  private unacked = 0;
  private readonly maxInFlight: number;
  private readonly log: Logger;
  private readonly agent: AgentRecord;

  constructor(
    private readonly ws: WebSocket,
    private readonly peer: AuthenticatedPeer,
    private readonly remoteAddress: string,
    private readonly d: ConnectionDeps,
  ) {
    const agent = peer.agent;
    this.agent = agent;
    // Every line here is caused by what the agent sends: limited per agent, fields cut short.
    this.log = peerLogger(d.logger.child({ agentId: agent.id, remote: remoteAddress }), agent.id);
    this.maxInFlight = d.maxInFlight ?? LIMITS.maxInFlightBatches;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', (code: number) => this.onClose(code));
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself (1009 for an oversized message, 1002 for protocol errors).
      this.log.warn({ code: err.code, msg: err.message }, 'telemetry connection error');
    });
  }

  private send(kind: ServerFrameKind): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(toBinary(ServerFrameSchema, create(ServerFrameSchema, { kind })));
  }

  /**
   * statsRecord is what is stored of a stats report, with the channel it came through: a
   * standby-only process has its own session table, so storage is how the primary's API learns it.
   */
  private statsRecord(s: SensorStats): Record<string, number | string> {
    return { ...statsFromWire(s), channel: this.d.channel };
  }

  /** sendFlow sends a FlowControl frame (see FlowController). */
  sendFlow(maxInFlight: number, pauseMs: number): void {
    this.send({ case: 'flow', value: { $typeName: 'palisade.v1.FlowControl', maxInFlight, pauseMs } });
  }

  private sendError(code: string, message: string, fatal: boolean, seq = 0n): void {
    this.send({ case: 'error', value: { $typeName: 'palisade.v1.ErrorFrame', code, message, seq, fatal } });
    if (fatal) {
      this.closed = true;
      this.ws.close(1002, code);
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (this.early && this.helloSeen) {
      // A well-behaved agent waits for Welcome; bound what an impatient one can park here.
      this.earlyBytes += data.byteLength;
      if (this.early.length >= 64 || this.earlyBytes > LIMITS.maxFrameBytes) {
        this.sendError('bad_request', 'too much sent before Welcome', true);
      } else this.early.push(ownCopy(data)); // `data` may be a view of a larger socket read
      return;
    }
    if (!isBinary) {
      this.log.warn({}, 'text frame refused');
      this.sendError('bad_request', 'telemetry frames must be binary ClientFrame messages', !this.helloSeen);
      return;
    }
    let frame: ReturnType<typeof fromBinary<typeof ClientFrameSchema>>;
    try {
      // Unknown fields are not kept: they would be views keeping the whole message alive.
      frame = fromBinary(ClientFrameSchema, data, { readUnknownFields: false });
    } catch (err) {
      this.log.warn({ msg: (err as Error).message, bytes: data.byteLength }, 'undecodable frame refused');
      this.sendError('bad_request', `not a ClientFrame: ${(err as Error).message}`, !this.helloSeen);
      return;
    }
    const k = frame.kind;
    if (!this.helloSeen) {
      if (k.case !== 'hello') {
        this.log.warn({ kind: k.case }, 'first frame was not Hello');
        this.sendError('bad_request', 'the first frame must be Hello', true);
        return;
      }
      this.helloSeen = true;
      void this.onHello(k.value);
      return;
    }
    switch (k.case) {
      case 'batch':
        this.onBatch(k.value);
        break;
      case 'heartbeat':
        this.d.heartbeats.update(this.agent.id, {
          lastSeenAt: this.d.clock.now(),
          ...(k.value.stats ? { stats: this.statsRecord(k.value.stats) } : {}),
          policyRevision: Number(k.value.policyRevision),
        });
        this.responseCall('heartbeat report', (r) =>
          r.report(this.agent.id, { isolation: k.value.isolation, self: k.value.self }),
        );
        break;
      case 'commandResult':
        this.log.info(
          { commandId: k.value.id, ok: k.value.ok, phase: k.value.phase, msg: k.value.message },
          'command result',
        );
        this.responseCall('command result', (r) => r.onResult(this.agent.id, k.value));
        break;
      case 'hello':
        this.sendError('bad_request', 'Hello was already received on this connection', false);
        break;
      default:
        this.sendError('bad_request', 'empty ClientFrame', false);
    }
  }

  /** responseCall runs a response-side step; its failure is logged and never ends the session. */
  private responseCall(what: string, fn: (r: ResponseHooks) => Promise<unknown>): void {
    const r = this.d.response;
    if (!r) return;
    fn(r).catch((err: Error) => this.log.error({ err: err.message }, `response: ${what} failed`));
  }

  /** welcomeExtras are the desired isolation and the restore code verifier (when there is a response side). */
  private async welcomeExtras(): Promise<{
    isolation?: IsolationDesired;
    restoreCode?: RestoreCodeVerifier;
  }> {
    const r = this.d.response;
    if (!r) return {};
    try {
      const [isolation, restoreCode] = await Promise.all([
        r.desiredFor(this.agent.id),
        r.verifierFor(this.agent.id),
      ]);
      return { isolation, restoreCode };
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'response: Welcome goes without the isolation state');
      return {};
    }
  }

  private async onHello(h: Hello): Promise<void> {
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(h.protocolVersion)) {
      this.log.warn({ peerVersion: h.protocolVersion }, 'protocol version mismatch');
      this.sendError(
        'unsupported_protocol_version',
        `agent speaks protocol version ${h.protocolVersion}, server speaks ${PROTOCOL_VERSION}`,
        true,
      );
      return;
    }
    try {
      if (this.d.response) {
        await this.d.response
          .report(this.agent.id, { isolation: h.isolation, self: h.self })
          .catch((err: Error) => this.log.error({ err: err.message }, 'response: Hello report failed'));
      }
      const [lastSeq, group, extras] = await Promise.all([
        this.d.storage.lastSeq(this.agent.id),
        this.d.storage.getGroup(this.agent.groupId),
        this.welcomeExtras(),
      ]);
      if (this.closed) return;
      this.openSession();
      this.d.heartbeats.update(this.agent.id, {
        lastSeenAt: this.d.clock.now(),
        ...(h.capabilities.length ? { capabilities: capabilitiesFromWire(h.capabilities) } : {}),
        ...(h.stats ? { stats: this.statsRecord(h.stats) } : {}),
        policyRevision: Number(h.policyRevision),
      });
      this.send({
        case: 'welcome',
        value: {
          $typeName: 'palisade.v1.Welcome',
          agentId: this.agent.id,
          lastStoredSeq: lastSeq,
          maxBatchBytes: LIMITS.maxFrameBytes,
          heartbeatIntervalS: this.d.heartbeatIntervalS,
          maxInFlight: this.maxInFlight,
          ...(group ? { policy: policyToWire(group.policy) } : {}),
          ...extras,
        },
      });
      this.log.info({ agentVersion: h.agentVersion, lastSeq: lastSeq.toString() }, 'agent connected');
    } catch (err) {
      this.log.error({ err }, 'could not open telemetry session');
      this.sendError('internal', 'server could not open the session; retry later', true);
      return;
    }
    const early = this.early ?? [];
    this.early = null;
    for (const data of early) this.onMessage(data, true);
    // Commands that waited for this agent (offline, or not answered before a reconnect).
    this.responseCall('delivery', (r) => r.deliverOpen(this.agent.id));
  }

  private openSession(): void {
    const session: LiveSession = {
      agentId: this.agent.id,
      connectedSince: this.d.clock.now(),
      remoteAddress: this.remoteAddress,
      channel: this.d.channel,
      certFingerprint: this.peer.fingerprint,
      certNotAfter: this.peer.notAfter,
      send: (command: Command) => this.send({ case: 'command', value: command }),
      close: (code, reason) => {
        this.closed = true;
        // A close reason is at most 123 bytes of UTF-8.
        let r = reason;
        while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
        this.ws.close(code, r);
      },
    };
    this.session = session;
    const replaced = this.d.sessions.add(session);
    if (replaced) {
      this.log.info({ previous: replaced.remoteAddress }, 'new connection replaces the previous one');
      replaced.close(4000, 'replaced by a newer connection');
    }
  }

  private onBatch(frame: EventBatchFrame): void {
    const seq = frame.seq;
    if (this.unacked >= this.maxInFlight) {
      this.log.warn(
        { seq: seq.toString(), window: this.maxInFlight },
        'agent went over its in-flight window',
      );
      this.sendError(
        'window_exceeded',
        `batch ${seq}: ${this.unacked} batches are already unacknowledged on this connection, the window is ${this.maxInFlight} (Welcome.max_in_flight); wait for acks`,
        true,
        seq,
      );
      return;
    }
    // The payload is a view of the WebSocket message (and with it whatever else the message
    // held): keep a copy of just the payload, so what the writer counts is what is kept.
    frame.payload = ownCopy(frame.payload);
    this.unacked++;
    const arrived = performance.now();
    this.d.metrics?.received(frame.eventCount, frame.payload.byteLength);
    this.d.writer.submit(this.agent.id, frame).then(
      (r) => {
        this.unacked--;
        this.send({ case: 'ack', value: { $typeName: 'palisade.v1.Ack', seq, duplicate: r.duplicate } });
        this.d.metrics?.acked((performance.now() - arrived) / 1000);
        this.d.sessions.acked(this.agent.id, this.d.clock.now());
      },
      (err: unknown) => {
        this.unacked--;
        if (err instanceof FrameError) {
          this.log.warn({ seq: seq.toString(), code: err.code, msg: err.message }, 'batch refused');
          this.sendError(err.code, err.message, false, seq);
        } else {
          this.sendError('unavailable', `batch ${seq} could not be stored; send it again later`, false, seq);
        }
      },
    );
    this.d.flow?.onBatch(this);
    if (this.d.writer.overloaded && !this.paused) {
      // Stop reading from this socket until the writer catches up: TCP pushes back on the agent.
      this.paused = true;
      this.ws.pause();
      this.d.writer.onDrain(() => {
        this.paused = false;
        if (!this.closed) this.ws.resume();
      });
    }
  }

  private onClose(code: number): void {
    this.closed = true;
    this.d.flow?.forget(this);
    if (this.session) {
      const now = this.d.clock.now();
      this.d.sessions.remove(this.session, now);
      this.d.heartbeats.update(this.agent.id, { lastSeenAt: now });
      this.log.info({ code }, 'agent disconnected');
    }
  }
}

/** ownCopy copies bytes into a buffer of their own (never a view of a shared pool or message). */
function ownCopy(b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(b.byteLength);
  out.set(b);
  return out;
}
