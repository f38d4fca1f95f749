import { type Clock, systemClock } from './clock.js';
import type { Logger } from './logger.js';

/** LogLimiterOptions configure rateLimitedLogger. */
export interface LogLimiterOptions {
  /** Lines allowed per key within one window; the rest are counted, not written. @default 10 */
  burst?: number;
  /** Length of a window. @default 60000 */
  windowMs?: number;
  /** Longest string kept in a logged field (and the message); longer ones are cut. @default 256 */
  maxChars?: number;
  /** Keys remembered at once; the least recently used is forgotten beyond it. @default 1024 */
  maxKeys?: number;
  /**
   * What makes two lines "the same kind" and share a budget. @default level and message, so a
   * peer cannot escape the limit by varying the data it sends
   */
  keyOf?: (level: LogLevel, obj: object, msg: string) => string;
  clock?: Clock;
}

/** LogLevel is a Logger method that writes a line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

interface Budget {
  windowStart: number;
  used: number;
  suppressed: number;
}

/**
 * truncateForLog bounds a value taken from a peer or a file before it is logged: strings longer
 * than `maxChars` are cut and say how much was dropped, arrays keep their first 16 items, objects
 * their first 32 keys (and `truncatedKeys: <n>`), nesting stops at depth 3. Numbers, booleans and null pass unchanged.
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

/** The shared state of a rate-limited logger and its children. */
class LogLimiter {
  readonly burst: number;
  readonly windowMs: number;
  readonly maxChars: number;
  private readonly maxKeys: number;
  private readonly budgets = new Map<string, Budget>();
  readonly keyOf: (level: LogLevel, obj: object, msg: string) => string;
  readonly clock: Clock;

  constructor(o: LogLimiterOptions) {
    this.burst = o.burst ?? 10;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxChars = o.maxChars ?? 256;
    this.maxKeys = o.maxKeys ?? 1024;
    this.keyOf = o.keyOf ?? ((level, _obj, msg) => `${level}\0${msg}`);
    this.clock = o.clock ?? systemClock;
  }

  /**
   * admit says whether a line of `key` may be written now and, when a new window opens after
   * lines were held back, how many were (the written line carries that count).
   */
  admit(key: string): { write: boolean; suppressed: number } {
    const now = this.clock.now();
    let b = this.budgets.get(key);
    if (b) this.budgets.delete(key);
    else {
      b = { windowStart: now, used: 0, suppressed: 0 };
      if (this.budgets.size >= this.maxKeys) {
        const oldest = this.budgets.keys().next().value;
        if (oldest !== undefined) this.budgets.delete(oldest);
      }
    }
    this.budgets.set(key, b); // most recently used last
    let carried = 0;
    if (now - b.windowStart >= this.windowMs) {
      carried = b.suppressed;
      b.windowStart = now;
      b.used = 0;
      b.suppressed = 0;
    }
    if (b.used < this.burst) {
      b.used++;
      return { write: true, suppressed: carried };
    }
    b.suppressed++;
    return { write: false, suppressed: 0 };
  }
}

function limited(base: Logger, limiter: LogLimiter): Logger {
  const write = (level: LogLevel) => (obj: object, msg?: string) => {
    const text = msg ?? '';
    const { write: ok, suppressed } = limiter.admit(limiter.keyOf(level, obj, text));
    if (!ok) return;
    const fields = truncateForLog(obj, limiter.maxChars) as Record<string, unknown>;
    if (suppressed > 0) fields.suppressed = suppressed;
    base[level](fields, truncateForLog(text, limiter.maxChars) as string);
  };
  const out = {} as Logger;
  for (const level of LEVELS) out[level] = write(level);
  out.child = (bindings) => limited(base.child(bindings), limiter);
  return out;
}

/**
 * rateLimitedLogger wraps a Logger for lines whose content a peer or a file controls (what a
 * server sent, a line read from a log file, a request's fields). Each kind of line (by default
 * its level and message) may be written `burst` times per `windowMs`; beyond that lines are
 * counted, and the first line of the next window carries `suppressed: <count>`. Every string in
 * the logged fields, and the message, is cut to `maxChars` (truncateForLog), so one peer can
 * neither flood the log nor fill it with megabyte values. Children share their parent's budget.
 */
export function rateLimitedLogger(base: Logger, opts: LogLimiterOptions = {}): Logger {
  return limited(base, new LogLimiter(opts));
}
