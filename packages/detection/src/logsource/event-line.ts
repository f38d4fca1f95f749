import type { EventInput } from '../engine/types.js';
import { fromOcsf, OcsfInputError } from './from-ocsf.js';

/** ParsedEventLine is one line of a `rules test --events` file. */
export type ParsedEventLine = { ok: true; input: EventInput } | { ok: false; error: string };

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * parseEventLine reads one JSON line: an OCSF event as `palisade events search --json` prints
 * it (it has class_uid), or `{"logsource": {...}, "event": {Sigma fields}}`. Errors say what is
 * wrong with the line; they never throw.
 */
export function parseEventLine(line: string): ParsedEventLine {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  if (!isObj(v)) return { ok: false, error: 'each line must be a JSON object' };
  if ('logsource' in v || 'event' in v) {
    const ls = v.logsource;
    const ev = v.event;
    if (!isObj(ls))
      return {
        ok: false,
        error: '\'logsource\' must be an object such as {"category": "process_creation", "product": "linux"}',
      };
    if (!isObj(ev)) return { ok: false, error: "'event' must be an object of Sigma field names and values" };
    const out: { category?: string; product?: string; service?: string } = {};
    for (const k of Object.keys(ls)) {
      if (k !== 'category' && k !== 'product' && k !== 'service')
        return { ok: false, error: `logsource has an unknown key '${k}' (category, product, service)` };
      if (typeof ls[k] !== 'string') return { ok: false, error: `logsource.${k} must be a string` };
      out[k] = ls[k] as string;
    }
    const host = isObj(v.host) ? v.host : {};
    return {
      ok: true,
      input: {
        kind: 'fields',
        logsource: out,
        fields: ev,
        ctx: {
          ...(typeof host.agentId === 'string' ? { agentId: host.agentId } : {}),
          ...(typeof host.hostname === 'string' ? { hostname: host.hostname } : {}),
        },
      },
    };
  }
  if ('class_uid' in v) {
    try {
      const { event, ctx } = fromOcsf(v);
      return { ok: true, input: { kind: 'wire', event, ctx } };
    } catch (e) {
      if (e instanceof OcsfInputError) return { ok: false, error: `OCSF event: ${e.message}` };
      throw e;
    }
  }
  return { ok: false, error: 'neither an OCSF event (no class_uid) nor {"logsource": ..., "event": ...}' };
}
