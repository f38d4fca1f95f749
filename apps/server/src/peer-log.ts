import { LogLimiter, type Logger, rateLimitedLogger } from '@palisade/common';

/**
 * PEER_LOG_LIMITER limits the log lines remote peers can cause (refused requests, bad frames,
 * failed handshakes): per key 10 at once, then 1 a second, with the count of dropped lines on the
 * next line let through. One per process, bounded in keys.
 */
export const PEER_LOG_LIMITER = new LogLimiter({ burst: 10, perSecond: 1, maxKeys: 10_000 });

/**
 * peerLogger wraps `logger` for lines a peer can trigger: each message is rate-limited per
 * `key` (say the peer's address or agent id) and message text, and string fields are cut to 200
 * characters. A line let through after others were dropped carries `suppressed: N`.
 */
export function peerLogger(logger: Logger, key: string, limiter: LogLimiter = PEER_LOG_LIMITER): Logger {
  return rateLimitedLogger(logger, {
    limiter,
    maxChars: 200,
    keyOf: (_level, _obj, msg) => `${key}\u0000${msg}`,
  });
}
