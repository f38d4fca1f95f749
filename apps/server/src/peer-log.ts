import { LogLimiter, type Logger, truncateForLog } from '@palisade/common';

/**
 * PEER_LOG_LIMITER limits the log lines remote peers can cause (refused requests, bad frames,
 * failed handshakes): per key 10 at once, then 1 a second, with the count of dropped lines on the
 * next line let through. One per process, bounded in keys.
 */
export const PEER_LOG_LIMITER = new LogLimiter({ burst: 10, perSecond: 1, maxKeys: 10_000 });

/** Longest string field of a peer-triggered line, in characters. */
const MAX_FIELD = 200;

function bounded(obj: object, dropped: number): object {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = typeof v === 'string' ? truncateForLog(v, MAX_FIELD) : v;
  if (dropped > 0) out.suppressed = dropped;
  return out;
}

/**
 * peerLogger wraps `logger` for lines a peer can trigger: each message is rate-limited per
 * `key` (say the peer's address or agent id) and message text, and string fields are cut to 200
 * characters. A line let through after others were dropped carries `suppressed: N`.
 */
export function peerLogger(logger: Logger, key: string, limiter: LogLimiter = PEER_LOG_LIMITER): Logger {
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (obj: object, msg?: string): void => {
      const dropped = limiter.take(`${key}\u0000${msg ?? ''}`);
      if (dropped !== undefined) logger[level](bounded(obj, dropped), msg);
    };
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: (bindings) => peerLogger(logger.child(bindings), key, limiter),
  };
}
