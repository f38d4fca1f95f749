import type { Command } from '@palisade/protocol';

/** LiveSession is one agent's open telemetry connection. */
export interface LiveSession {
  agentId: string;
  connectedSince: number;
  remoteAddress: string;
  /** Which telemetry listener it is connected to. */
  channel: 'primary' | 'standby';
  /** sha256 (hex) of the client certificate the connection authenticated with, and its expiry (ms). */
  certFingerprint: string;
  certNotAfter: number;
  /** send pushes a command to the agent over this connection. */
  send(command: Command): void;
  /** close ends the connection (used when a newer one replaces it). */
  close(code: number, reason: string): void;
}

/** ConnectionState is what the API shows about an agent's link to the telemetry service. */
export interface ConnectionState {
  state: 'connected' | 'disconnected';
  /** When it connected or disconnected, ms; null when never seen since the server started. */
  since: number | null;
  remoteAddress: string | null;
  channel: 'primary' | 'standby' | null;
  /** When this server last acked a batch of the agent (ms; null when not since it started). */
  lastAckAt: number | null;
}

/**
 * SessionTable is the live table of connected agents (agentId → session). One session per agent:
 * a new connection from the same agent replaces the old one.
 */
export class SessionTable {
  private readonly live = new Map<string, LiveSession>();
  private readonly gone = new Map<string, { since: number; remoteAddress: string }>();
  private readonly lastAck = new Map<string, number>();
  private added = 0;

  /** generation counts the sessions added so far (a re-check knows whether new ones came). */
  get generation(): number {
    return this.added;
  }

  /** acked records that a batch of `agentId` was acked at `nowMs`. */
  acked(agentId: string, nowMs: number): void {
    this.lastAck.set(agentId, nowMs);
  }

  /** add registers `s` and returns the session it replaced, if any (the caller closes it). */
  add(s: LiveSession): LiveSession | undefined {
    const old = this.live.get(s.agentId);
    this.added++;
    this.live.set(s.agentId, s);
    this.gone.delete(s.agentId);
    return old;
  }

  /** remove forgets `s` if it is still the agent's current session. */
  remove(s: LiveSession, nowMs: number): void {
    if (this.live.get(s.agentId) !== s) return;
    this.live.delete(s.agentId);
    this.gone.set(s.agentId, { since: nowMs, remoteAddress: s.remoteAddress });
  }

  /** get returns the agent's current session. */
  get(agentId: string): LiveSession | undefined {
    return this.live.get(agentId);
  }

  /** state describes the agent's connection for the API. */
  state(agentId: string): ConnectionState {
    const s = this.live.get(agentId);
    if (s)
      return {
        state: 'connected',
        since: s.connectedSince,
        remoteAddress: s.remoteAddress,
        channel: s.channel,
        lastAckAt: this.lastAck.get(agentId) ?? null,
      };
    const g = this.gone.get(agentId);
    return {
      state: 'disconnected',
      since: g?.since ?? null,
      remoteAddress: g?.remoteAddress ?? null,
      channel: null,
      lastAckAt: this.lastAck.get(agentId) ?? null,
    };
  }

  /** size is the number of connected agents. */
  get size(): number {
    return this.live.size;
  }

  /** all lists the live sessions. */
  all(): IterableIterator<LiveSession> {
    return this.live.values();
  }
}
