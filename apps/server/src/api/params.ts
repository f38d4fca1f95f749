import { PalisadeError } from '@palisade/common';

/** Query is a parsed query string as Fastify gives it. */
export type Query = Record<string, string | string[] | undefined>;

function bad(name: string, why: string): PalisadeError {
  return new PalisadeError('validation_failed', `parameter ${name}: ${why}`);
}

/** rejectUnknown refuses parameters a route does not take, so a typo is not silently ignored. */
export function rejectUnknown(q: Query, allowed: readonly string[]): void {
  for (const k of Object.keys(q)) {
    if (!allowed.includes(k)) throw bad(k, `unknown parameter (allowed: ${allowed.join(', ')})`);
  }
}

/** str returns a single-valued string parameter, bounded in length. */
export function str(q: Query, name: string, maxLen = 256): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw bad(name, 'given more than once');
  if (v === '') throw bad(name, 'must not be empty');
  if (v.length > maxLen) throw bad(name, `longer than ${maxLen} characters`);
  return v;
}

/** int returns an integer parameter within [min, max]. */
export function int(q: Query, name: string, min: number, max: number): number | undefined {
  const v = str(q, name, 32);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw bad(name, `"${v}" is not an integer`);
  const n = Number(v);
  if (n < min || n > max) throw bad(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** time returns a time parameter given as ms since the epoch or as ISO 8601, in ms. */
export function time(q: Query, name: string): number | undefined {
  const v = str(q, name, 64);
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  // Date.parse accepts many shapes; require something that looks like ISO 8601.
  const ms = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(ms)) throw bad(name, `"${v}" is neither ms since the epoch nor an ISO 8601 time`);
  return ms;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** uuid returns a parameter that must be a UUID. */
export function uuid(q: Query, name: string): string | undefined {
  const v = str(q, name, 64);
  if (v !== undefined && !UUID.test(v)) throw bad(name, `"${v}" is not a UUID`);
  return v?.toLowerCase();
}

/** isUuid tells whether `s` is a UUID. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** jsonBody returns the request body as an object, or explains what is wrong with it. */
export function jsonBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw new PalisadeError('bad_request', 'body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
