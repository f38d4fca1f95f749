import type { Event } from '@palisade/protocol';
import { type FieldReader, type FieldValue, scalarText } from '../compile/field-reader.js';
import type { FieldRegistry } from '../compile/registry.js';
import type { EvalContext } from '../logsource/context.js';

/**
 * WireReader reads a wire Event through a log source's getters, lazily and at most once per
 * field per event: a generation stamp marks which cached values belong to the current event, so
 * moving to the next event allocates nothing.
 */
export class WireReader implements FieldReader {
  private event!: Event;
  private ctx!: EvalContext;
  private rec = 0;
  private gen = 1;
  private readonly vals: FieldValue[];
  private readonly lows: (string | undefined)[];
  private readonly vgen: Uint32Array;
  private readonly lgen: Uint32Array;
  private readonly getters;

  constructor(reg: FieldRegistry) {
    const n = reg.names.length;
    this.getters = reg.getters;
    this.vals = new Array(n);
    this.lows = new Array(n);
    this.vgen = new Uint32Array(n);
    this.lgen = new Uint32Array(n);
  }

  /** reset moves to an event (and record); a no-op when the reader is already on it. */
  reset(e: Event, ctx: EvalContext, rec: number): void {
    if (this.event === e && this.rec === rec && this.ctx === ctx) return;
    this.event = e;
    this.ctx = ctx;
    this.rec = rec;
    if (++this.gen === 0xffffffff) {
      this.vgen.fill(0);
      this.lgen.fill(0);
      this.gen = 1;
    }
  }

  value(slot: number): FieldValue {
    if (this.vgen[slot] !== this.gen) {
      this.vgen[slot] = this.gen;
      this.vals[slot] = this.getters[slot]!(this.event, this.ctx, this.rec);
    }
    return this.vals[slot];
  }

  str(slot: number): string | undefined {
    return scalarText(this.value(slot));
  }

  lower(slot: number): string | undefined {
    if (this.lgen[slot] !== this.gen) {
      this.lgen[slot] = this.gen;
      const s = this.str(slot);
      this.lows[slot] = s === undefined ? undefined : s.toLowerCase();
    }
    return this.lows[slot];
  }
}

function toFieldValue(v: unknown, depth = 0): FieldValue {
  if (v === null) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v) && depth < 4) return v.map((x) => toFieldValue(x, depth + 1));
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return undefined;
}

/**
 * FieldsReader reads an event given as Sigma field names (the `rules test` flat form): a
 * field is looked up by name; nested objects are also reachable by dotted names.
 */
export class FieldsReader implements FieldReader {
  private fields: Record<string, unknown> = {};
  private readonly cache = new Map<number, FieldValue>();
  private readonly lows = new Map<number, string | undefined>();
  constructor(private readonly reg: FieldRegistry) {}

  reset(fields: Record<string, unknown>): void {
    this.fields = fields;
    this.cache.clear();
    this.lows.clear();
  }

  value(slot: number): FieldValue {
    if (this.cache.has(slot)) return this.cache.get(slot);
    const name = this.reg.names[slot]!;
    if (slot === this.reg.keywordText && this.reg.keywordSlots.length > 1) {
      const parts = this.reg.keywordSlots.map((k) => this.str(k)).filter((x) => x !== undefined);
      const joined = parts.length ? parts.join('\n') : undefined;
      this.cache.set(slot, joined);
      return joined;
    }
    let v: unknown = Object.hasOwn(this.fields, name) ? this.fields[name] : undefined;
    if (v === undefined && name.includes('.')) {
      let cur: unknown = this.fields;
      for (const p of name.split('.'))
        cur =
          cur && typeof cur === 'object' && Object.hasOwn(cur, p)
            ? (cur as Record<string, unknown>)[p]
            : undefined;
      v = cur;
    }
    const out = v === undefined ? undefined : toFieldValue(v);
    this.cache.set(slot, out);
    return out;
  }

  str(slot: number): string | undefined {
    return scalarText(this.value(slot));
  }

  lower(slot: number): string | undefined {
    if (!this.lows.has(slot)) this.lows.set(slot, this.str(slot)?.toLowerCase());
    return this.lows.get(slot);
  }
}
