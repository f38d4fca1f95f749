import type { Logger } from './logger.js';
import { TokenBuckets } from './token-buckets.js';

/** LogLimiterOptions tune a LogLimiter. */
export interface LogLimiterOptions {
  /** Lines let through at once per key before limiting starts. @default 10 */
  burst?: number;
  /** Lines per second per key let through after that. @default 10 a minute */
  perSecond?: number;
  /** Keys remembered; beyond it the least recently used are forgotten. @default 10000 */
  maxKeys?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * LogLimiter limits log lines that a remote peer or a file's content can cause, with a token
 * bucket per key (a log site and the peer that triggers it, say): a peer sending garbage gets
 * `burst` lines, then `perSecond`. `take(key)` says whether to write the line; when it lets one
 * through after others were dropped it says how many, so the log keeps an exact count of what it
 * left out. One limiter may be shared by many loggers (rateLimitedLogger's `limiter`).
 */
export class LogLimiter {
  private readonly buckets: TokenBuckets;
  /** Lines dropped per key since its last line let through (bounded like the buckets). */
  private readonly dropped = new Map<string, number>();
  private readonly maxKeys: number;

  constructor(o: LogLimiterOptions = {}) {
    this.maxKeys = o.maxKeys ?? 10_000;
    this.buckets = new TokenBuckets({
      burst: o.burst ?? 10,
      perSecond: o.perSecond ?? 10 / 60,
      maxKeys: this.maxKeys,
      ...(o.now ? { now: o.now } : {}),
    });
  }

  /**
   * take returns undefined when the line for `key` should be dropped; otherwise the number of
   * lines for `key` dropped since the last one let through (0 mostly), to be logged with it.
   */
  take(key: string): number | undefined {
    if (this.buckets.take(key) > 0) {
      const n = this.dropped.get(key);
      if (n === undefined && this.dropped.size >= this.maxKeys) {
        const oldest = this.dropped.keys().next().value;
        if (oldest !== undefined) this.dropped.delete(oldest);
      }
      this.dropped.set(key, (n ?? 0) + 1);
      return undefined;
    }
    const n = this.dropped.get(key) ?? 0;
    this.dropped.delete(key);
    return n;
  }
}

/**
 * truncateForLog bounds a value taken from a peer or a file before it is logged: strings longer
 * than `maxChars` are cut and say how much was dropped, arrays keep their first 16 items, objects
 * their first 32 keys (and `truncatedKeys: <n>`), nesting stops at depth 3. Numbers, booleans and
 * null pass unchanged.
 */
export function truncateForLog(v: unknown, maxChars = 256, depth = 0): unknown {
  if (typeof v === 'string') {
    return v.length <= maxChars ? v : `${v.slice(0, maxChars)}…(+${v.length - maxChars} chars)`;
  }
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Error) return truncateForLog(v.message, maxChars, depth);
  if (depth >= 3) return '[…]';
  if (Array.isArray(v)) {
    const out = v.slice(0, 16).map((x) => truncateForLog(x, maxChars, depth + 1));
    if (v.length > 16) out.push(`…(+${v.length - 16} items)`);
    return out;
  }
  if (ArrayBuffer.isView(v)) return `[${v.byteLength} bytes]`;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(v);
  for (const k of keys.slice(0, 32))
    out[k] = truncateForLog((v as Record<string, unknown>)[k], maxChars, depth + 1);
  if (keys.length > 32) out.truncatedKeys = keys.length - 32;
  return out;
}

/** LogLevel is a Logger method that writes a line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** RateLimitedLoggerOptions configure rateLimitedLogger. */
export interface RateLimitedLoggerOptions extends LogLimiterOptions {
  /** Longest string kept in a logged field (and the message); longer ones are cut. @default 256 */
  maxChars?: number;
  /**
   * What makes two lines "the same kind" and share a budget. @default level and message, so a
   * peer cannot escape the limit by varying the data it sends
   */
  keyOf?: (level: LogLevel, obj: object, msg: string) => string;
  /** A limiter shared with other loggers (then burst, perSecond, maxKeys and now are its own). */
  limiter?: LogLimiter;
}

function limited(
  base: Logger,
  limiter: LogLimiter,
  keyOf: (level: LogLevel, obj: object, msg: string) => string,
  maxChars: number,
): Logger {
  const write = (level: LogLevel) => (obj: object, msg?: string) => {
    const text = msg ?? '';
    const suppressed = limiter.take(keyOf(level, obj, text));
    if (suppressed === undefined) return;
    const fields = truncateForLog(obj, maxChars) as Record<string, unknown>;
    if (suppressed > 0) fields.suppressed = suppressed;
    base[level](fields, truncateForLog(text, maxChars) as string);
  };
  const out = {} as Logger;
  for (const level of LEVELS) out[level] = write(level);
  out.child = (bindings) => limited(base.child(bindings), limiter, keyOf, maxChars);
  return out;
}

/**
 * rateLimitedLogger wraps a Logger for lines whose content a peer or a file controls (what a
 * server or an agent sent, a line read from a log file, a request's fields). Each kind of line
 * (by default its level and message) goes through a LogLimiter: `burst` at once, then `perSecond`;
 * lines beyond that are counted, and the next line let through carries `suppressed: <count>`.
 * Every string in the logged fields, and the message, is cut to `maxChars` (truncateForLog), so
 * one peer can neither flood the log nor fill it with megabyte values. Children share their
 * parent's budget.
 */
export function rateLimitedLogger(base: Logger, opts: RateLimitedLoggerOptions = {}): Logger {
  const keyOf = opts.keyOf ?? ((level, _obj, msg) => `${level}\0${msg}`);
  return limited(base, opts.limiter ?? new LogLimiter(opts), keyOf, opts.maxChars ?? 256);
}
