import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from '@palisade/common';
import { peerLogger } from '../peer-log.js';
import { type Caps, SILENT_GRACE_MS, UNAUTHENTICATED_GRACE_MS } from './listener-limits.js';
import { TrustedAddresses } from './trusted-addresses.js';

/** GateStats count what a ConnectionGate holds and did since it started. */
export interface GateStats {
  /** Connections open now. */
  open: number;
  /** Of those, in the unauthenticated pool (capped by maxUnauthenticated). */
  unauthenticated: number;
  /** Of those, in their TLS handshake from an address agents recently authenticated from. */
  trustedHandshakes: number;
  /** Unauthenticated connections closed to make room for newer ones. */
  evicted: number;
  /** New connections closed at once because there was no room (see ConnectionGate). */
  refused: number;
}

interface Tracked {
  address: string;
  /** When it was accepted, ms. */
  since: number;
}

type Why = 'address' | 'pool' | 'listener' | 'handshake';

/**
 * ConnectionGate holds a TLS listener to its connection caps (see ListenerLimits). Every TCP
 * connection counts from accept until close, in one of three states:
 *
 * - authenticated: its handshake showed a client certificate of the agent CA (or `promote` says
 *   an API token checked out). The gate never closes these; they are admitted while the listener
 *   holds fewer than `maxConnections`, making room by closing an unauthenticated connection.
 * - unauthenticated: in its handshake, or done without an agent certificate. At most
 *   `maxUnauthenticated` of these, and `maxUnauthenticatedPerAddress` per source address.
 * - trusted handshake: in its handshake from an address an agent authenticated from recently
 *   (TrustedAddresses, shared by the listeners). These are not in the unauthenticated pool, so a
 *   flood from elsewhere cannot keep enrolled agents out; only the per-address cap applies. One
 *   that ends without an agent certificate joins the unauthenticated pool, or is closed.
 *
 * When a pool is full, a newcomer makes room by closing the pool's oldest connection that has
 * sent nothing for SILENT_GRACE_MS (a TLS client speaks first, at once), else the oldest that has
 * had UNAUTHENTICATED_GRACE_MS; if none qualifies the newcomer is refused. So silent or slow
 * clients cannot hold slots for long, and a burst cannot push out connections that are still
 * finishing a handshake.
 */
export class ConnectionGate {
  /** The unauthenticated pool, oldest first (a Map keeps insertion order). */
  private readonly pool = new Map<Socket, Tracked>();
  /** Trusted handshakes in progress. */
  private readonly trustedPending = new Map<Socket, Tracked>();
  /** Both of the above, per source address, oldest first. */
  private readonly perAddress = new Map<string, Set<Socket>>();
  /** Open connections by "address:port", to find a TLS socket's TCP connection. */
  private readonly byPeer = new Map<string, Socket>();
  private open = 0;
  private evicted = 0;
  private refused = 0;
  private readonly log: Logger;

  constructor(
    server: TlsServer,
    private readonly caps: Caps,
    logger: Logger,
    private readonly trusted: TrustedAddresses = new TrustedAddresses(),
    /** Whether a finished handshake authenticates the connection as an agent. */
    private readonly isAgent: (s: TLSSocket) => boolean = (s) => s.authorized,
    private readonly now: () => number = Date.now,
  ) {
    this.log = logger.child({ svc: 'connection-gate' });
    // Before the TLS server wraps the socket: a refused connection costs no handshake.
    server.prependListener('connection', (s: Socket) => this.admit(s));
    server.on('secureConnection', (s: TLSSocket) => this.handshakeDone(s));
  }

  private static peer(s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
    return `${s.remoteAddress}:${s.remotePort}`;
  }

  /** victim is the connection of `pool` to close for a newcomer, if one may be closed. */
  private victim(pool: Iterable<Socket>, force: boolean): Socket | undefined {
    const now = this.now();
    let oldest: Socket | undefined;
    for (const s of pool) {
      const t = this.pool.get(s) ?? this.trustedPending.get(s);
      if (!t) continue;
      oldest ??= s;
      const age = now - t.since;
      if (age < SILENT_GRACE_MS) break; // the rest are younger still
      if (s.bytesRead === 0) return s;
    }
    const t = oldest && (this.pool.get(oldest) ?? this.trustedPending.get(oldest));
    if (oldest && t && (force || now - t.since >= UNAUTHENTICATED_GRACE_MS)) return oldest;
    return undefined;
  }

  /** makeRoom closes a connection of `pool` for a newcomer; false when none may go. */
  private makeRoom(pool: Iterable<Socket>, why: Why, force = false): boolean {
    const s = this.victim(pool, force);
    if (!s) return false;
    const address = (this.pool.get(s) ?? this.trustedPending.get(s))?.address;
    this.forget(s);
    this.evicted++;
    peerLogger(this.log, `evict ${why}`).warn(
      { why, address, unauthenticated: this.pool.size },
      'closed an unauthenticated connection to let a new one in',
    );
    s.destroy();
    return true;
  }

  private refuse(s: Socket, why: Why): void {
    this.refused++;
    peerLogger(this.log, `refuse ${why}`).warn(
      { why, address: s.remoteAddress, open: this.open, unauthenticated: this.pool.size },
      'connection refused: no room under the connection caps',
    );
    s.destroy();
  }

  /** noRoomFor makes room for a newcomer from `address` where a cap needs it; the cap that could not, if any. */
  private noRoomFor(address: string, trusted: boolean): Why | undefined {
    const mine = this.perAddress.get(address);
    if (mine && mine.size >= this.caps.maxUnauthenticatedPerAddress && !this.makeRoom(mine, 'address'))
      return 'address';
    if (
      !trusted &&
      this.pool.size >= this.caps.maxUnauthenticated &&
      !this.makeRoom(this.pool.keys(), 'pool')
    )
      return 'pool';
    // A trusted newcomer may push out any unauthenticated connection to get in up to the cap.
    if (this.open >= this.caps.maxConnections && !this.makeRoom(this.pool.keys(), 'listener', trusted))
      return 'listener';
    return undefined;
  }

  private admit(s: Socket): void {
    const address = s.remoteAddress ?? '';
    const trusted = this.trusted.has(address);
    const why = this.noRoomFor(address, trusted);
    if (why) {
      this.refuse(s, why);
      return;
    }
    const peer = ConnectionGate.peer(s);
    this.open++;
    this.byPeer.set(peer, s);
    (trusted ? this.trustedPending : this.pool).set(s, { address, since: this.now() });
    const set = this.perAddress.get(address) ?? new Set<Socket>();
    this.perAddress.set(address, set);
    set.add(s);
    s.once('close', () => {
      this.open--;
      this.byPeer.delete(peer);
      this.forget(s);
    });
  }

  private handshakeDone(tls: TLSSocket): void {
    const raw = this.byPeer.get(ConnectionGate.peer(tls));
    if (!raw) return;
    if (this.isAgent(tls)) {
      this.trusted.add(tls.remoteAddress ?? '');
      this.forget(raw);
      return;
    }
    const t = this.trustedPending.get(raw);
    if (!t) return; // already in the unauthenticated pool
    // From a trusted address but no agent: it joins the unauthenticated pool if there is room.
    this.trustedPending.delete(raw);
    if (this.pool.size >= this.caps.maxUnauthenticated && !this.makeRoom(this.pool.keys(), 'handshake')) {
      this.forget(raw);
      this.refuse(raw, 'handshake');
      return;
    }
    this.pool.set(raw, t);
  }

  private forget(s: Socket): void {
    const t = this.pool.get(s) ?? this.trustedPending.get(s);
    if (!t) return;
    this.pool.delete(s);
    this.trustedPending.delete(s);
    const set = this.perAddress.get(t.address);
    set?.delete(s);
    if (set?.size === 0) this.perAddress.delete(t.address);
  }

  /** promote counts the connection behind TLS socket `s` as authenticated from now on (never evicted). */
  promote(s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): void {
    const raw = this.byPeer.get(ConnectionGate.peer(s));
    if (raw) this.forget(raw);
  }

  /** stats is what the gate holds now and has done. */
  stats(): GateStats {
    return {
      open: this.open,
      unauthenticated: this.pool.size,
      trustedHandshakes: this.trustedPending.size,
      evicted: this.evicted,
      refused: this.refused,
    };
  }
}
