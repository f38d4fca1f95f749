/**
 * ListenerLimits bound what clients can hold on a listener (registration/API, telemetry primary,
 * standby), so that no client, however slow or numerous, exhausts the server's file descriptors
 * or starves the agents that are already enrolled. Every field has a default (DEFAULT_LIMITS);
 * `palisade server` sets them with flags or the config file (seconds there, ms here).
 */
export interface ListenerLimits {
  /** A TLS handshake must be done within this, ms. @default 10000 */
  handshakeTimeoutMs: number;
  /** A request's headers (a WebSocket upgrade's too) must be in within this, ms. @default 10000 */
  headersTimeoutMs: number;
  /** A whole request, body included, must be in within this, ms. @default 30000 */
  requestTimeoutMs: number;
  /** A connection that sends nothing for this long is closed, ms (an open WebSocket is kept alive by pings instead). @default 60000 */
  idleTimeoutMs: number;
  /** A kept-alive HTTP connection waits this long for its next request, ms. @default 5000 */
  keepAliveTimeoutMs: number;
  /** An agent must send Hello within this after its WebSocket opens, ms. @default 10000 */
  helloTimeoutMs: number;
  /** Connections one telemetry listener holds at most. @default 10000 */
  maxConnections: number;
  /**
   * Of those, at most this many not authenticated as an agent: still in the TLS handshake, or
   * without an agent certificate. When full, one of them is closed to let a new one in (the
   * oldest silent one, or the oldest past its grace; else the new one is refused, see
   * ConnectionGate); agents with a certificate are never closed for this and get in up to
   * maxConnections.
   * @default 1000
   */
  maxUnauthenticated: number;
  /** Unauthenticated connections from one address; beyond it its own oldest is closed. @default 100 */
  maxUnauthenticatedPerAddress: number;
  /** Connections the registration/API listener holds at most (agents hold one there only while checking in). @default 2000 */
  registrationMaxConnections: number;
  /** Of those, unauthenticated at most (registrations, API clients before their token is checked). @default 1000 */
  registrationMaxUnauthenticated: number;
  /** Registrations one address may make at once ... @default 100 */
  registrationBurst: number;
  /** ... and per minute after that; beyond it 429 with Retry-After. @default 60 */
  registrationPerMinute: number;
}

/**
 * UNAUTHENTICATED_GRACE_MS: an unauthenticated connection is safe from eviction for this long,
 * time enough to finish a TLS handshake (or a short API call) under load; a burst of newcomers
 * is refused rather than allowed to push out connections that just arrived.
 */
export const UNAUTHENTICATED_GRACE_MS = 2000;

/**
 * SILENT_GRACE_MS: a connection that has sent no byte this long after accept can be closed for
 * a newcomer at once (a TLS client sends its ClientHello as soon as it is connected).
 */
export const SILENT_GRACE_MS = 1000;

/** DEFAULT_LIMITS are the limits of a server that is not told otherwise. */
export const DEFAULT_LIMITS: Readonly<ListenerLimits> = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  helloTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxUnauthenticated: 1_000,
  maxUnauthenticatedPerAddress: 100,
  registrationMaxConnections: 2_000,
  registrationMaxUnauthenticated: 1_000,
  registrationBurst: 100,
  registrationPerMinute: 60,
};

/** resolveLimits fills in defaults and refuses limits that contradict each other. */
export function resolveLimits(given: Partial<ListenerLimits> = {}): ListenerLimits {
  const l = { ...DEFAULT_LIMITS, ...given };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`limits.${k} must be a whole number from 1, got ${v}`);
  }
  if (l.maxUnauthenticated > l.maxConnections)
    throw new Error('limits: maxUnauthenticated must not be above maxConnections');
  if (l.headersTimeoutMs > l.requestTimeoutMs)
    throw new Error('limits: headersTimeoutMs must not be above requestTimeoutMs');
  if (l.registrationMaxUnauthenticated > l.registrationMaxConnections)
    throw new Error('limits: registrationMaxUnauthenticated must not be above registrationMaxConnections');
  return l;
}

/** Caps are what a ConnectionGate enforces on one listener. */
export interface Caps {
  maxConnections: number;
  maxUnauthenticated: number;
  maxUnauthenticatedPerAddress: number;
}

/** telemetryCaps and registrationCaps pick one listener's caps out of the limits. */
export function telemetryCaps(l: ListenerLimits): Caps {
  return {
    maxConnections: l.maxConnections,
    maxUnauthenticated: l.maxUnauthenticated,
    maxUnauthenticatedPerAddress: l.maxUnauthenticatedPerAddress,
  };
}
export function registrationCaps(l: ListenerLimits): Caps {
  return {
    maxConnections: l.registrationMaxConnections,
    maxUnauthenticated: l.registrationMaxUnauthenticated,
    maxUnauthenticatedPerAddress: l.maxUnauthenticatedPerAddress,
  };
}

/**
 * httpServerOptions are the Node http/https server options for the timeouts (https.createServer
 * takes them beside the TLS ones). Expired requests are looked for every second, so a header or
 * request timeout fires within a second of its time.
 */
export function httpServerOptions(l: ListenerLimits) {
  return {
    handshakeTimeout: l.handshakeTimeoutMs,
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, l.headersTimeoutMs),
  };
}
