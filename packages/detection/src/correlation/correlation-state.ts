import type { CorrelationRule, CountCondition } from '../rule/rule-types.js';
import type { CorrelationMatch, DetectionMatch, RuleInfo } from '../engine/types.js';

/** Contribution is one match of a correlated rule, as a correlation sees it. */
export interface Contribution {
  /** Position of the matched rule in the correlation's `rules`. */
  ref: number;
  timeMs: number;
  key: string;
  group: Record<string, string>;
  /** value_count / value_sum / value_avg / value_percentile: the field value(s). */
  value?: string;
  match: DetectionMatch | CorrelationMatch;
}

/** CorrelationLimits bound a correlation's state. */
export interface CorrelationLimits {
  /** Groups (distinct group-by values) held per correlation; the oldest is dropped beyond. @default 10000 */
  maxGroups: number;
  /** Contributing matches kept per group as evidence. @default 100 */
  maxEvidence: number;
  /** Entries (times, values) held per group window. @default 100000 */
  maxEntries: number;
}

export const DEFAULT_CORRELATION_LIMITS: CorrelationLimits = {
  maxGroups: 10000,
  maxEvidence: 100,
  maxEntries: 100000,
};

interface Entry {
  t: number;
  ref: number;
  value?: string;
  match: DetectionMatch | CorrelationMatch;
}

interface Group {
  key: string;
  values: Record<string, string>;
  /** Window start (tumbling windows). */
  start: number;
  last: number;
  entries: Entry[];
  /** Entries dropped by the entry cap (their count still counts). */
  overflow: number;
  /** Running distinct-value counts and sum of the entries (value_count, value_sum, value_avg). */
  counts: Map<string, number>;
  sum: number;
  n: number;
  /** temporal_ordered: chain[i] = the entries of the latest chain through rules 0..i */
  chain?: (Entry[] | undefined)[];
}

export function conditionHolds(c: CountCondition, n: number): boolean {
  if (c.gt !== undefined && !(n > c.gt)) return false;
  if (c.gte !== undefined && !(n >= c.gte)) return false;
  if (c.lt !== undefined && !(n < c.lt)) return false;
  if (c.lte !== undefined && !(n <= c.lte)) return false;
  if (c.eq !== undefined && !(n === c.eq)) return false;
  if (c.neq !== undefined && !(n !== c.neq)) return false;
  return true;
}

/** hasUpperBound: such a condition can only be decided when the window closes. */
function hasUpperBound(c: CountCondition): boolean {
  return c.lt !== undefined || c.lte !== undefined || c.eq !== undefined || c.neq !== undefined;
}

/**
 * CorrelationState runs one correlation rule over the stream of its rules' matches, per group.
 * Windows slide over event time. Conditions with only lower bounds (gt, gte) fire as soon as
 * they hold, then the group starts over; conditions with an upper bound (lt, lte, eq, neq) can
 * only be decided over a whole window, so they are checked when it closes (a later event of
 * the group, or `expire` with the current time). State is bounded: at most maxGroups groups
 * (oldest dropped, counted in `droppedGroups`) and maxEvidence matches kept per group.
 */
export class CorrelationState {
  private groups = new Map<string, Group>();
  droppedGroups = 0;
  droppedEvidence = 0;
  private readonly windowed: boolean;

  constructor(
    readonly rule: CorrelationRule,
    readonly info: RuleInfo,
    private readonly limits: CorrelationLimits = DEFAULT_CORRELATION_LIMITS,
  ) {
    const c = rule.condition;
    this.windowed =
      (rule.type === 'event_count' ||
        rule.type === 'value_count' ||
        rule.type === 'value_sum' ||
        rule.type === 'value_avg') &&
      c !== null &&
      hasUpperBound(c);
  }

  get groupCount(): number {
    return this.groups.size;
  }

  private group(x: Contribution): Group {
    let g = this.groups.get(x.key);
    if (g) {
      // Most recently used last, so the first is the one to drop.
      this.groups.delete(x.key);
      this.groups.set(x.key, g);
      return g;
    }
    if (this.groups.size >= this.limits.maxGroups) {
      const oldest = this.groups.keys().next().value as string;
      this.groups.delete(oldest);
      this.droppedGroups++;
    }
    g = {
      key: x.key,
      values: x.group,
      start: x.timeMs,
      last: x.timeMs,
      entries: [],
      overflow: 0,
      counts: new Map(),
      sum: 0,
      n: 0,
    };
    this.groups.set(x.key, g);
    return g;
  }

  /** push feeds one contribution; returns the correlation matches it completes. */
  push(x: Contribution): CorrelationMatch[] {
    const span = this.rule.timespanMs;
    const g = this.group(x);
    const out: CorrelationMatch[] = [];
    if (this.windowed && x.timeMs > g.start + span) {
      const closed = this.close(g);
      if (closed) out.push(closed);
      this.clear(g);
      g.start = x.timeMs;
    }
    g.last = Math.max(g.last, x.timeMs);
    const entry: Entry = {
      t: x.timeMs,
      ref: x.ref,
      match: x.match,
      ...(x.value !== undefined ? { value: x.value } : {}),
    };
    switch (this.rule.type) {
      case 'temporal':
        this.temporal(g, entry, out);
        break;
      case 'temporal_ordered':
        this.ordered(g, entry, out);
        break;
      default:
        this.counting(g, entry, out);
    }
    return out;
  }

  private clear(g: Group): void {
    g.entries = [];
    g.overflow = 0;
    g.counts.clear();
    g.sum = 0;
    g.n = 0;
  }

  private account(g: Group, e: Entry, sign: 1 | -1): void {
    if (e.value === undefined) return;
    const c = (g.counts.get(e.value) ?? 0) + sign;
    if (c > 0) g.counts.set(e.value, c);
    else g.counts.delete(e.value);
    const v = Number(e.value);
    if (Number.isFinite(v)) {
      g.sum += sign * v;
      g.n += sign;
    }
  }

  private add(g: Group, e: Entry): void {
    g.entries.push(e);
    this.account(g, e, 1);
    if (g.entries.length > this.limits.maxEntries) {
      // The count keeps it; the evidence and the distinct values do not.
      this.account(g, g.entries.shift()!, -1);
      g.overflow++;
    }
  }

  private slide(g: Group, now: number): void {
    const from = now - this.rule.timespanMs;
    let i = 0;
    while (i < g.entries.length && g.entries[i]!.t < from) i++;
    if (i) {
      for (let j = 0; j < i; j++) this.account(g, g.entries[j]!, -1);
      g.entries.splice(0, i);
      g.overflow = 0;
    }
  }

  /** current is the measure of a sliding window, from the running counts. */
  private current(g: Group): number {
    switch (this.rule.type) {
      case 'event_count':
        return g.entries.length + g.overflow;
      case 'value_count':
        return g.counts.size;
      case 'value_sum':
        return g.sum;
      case 'value_avg':
        return g.n ? g.sum / g.n : 0;
      default:
        return g.entries.length;
    }
  }

  private measure(entries: Entry[], overflow: number): number {
    switch (this.rule.type) {
      case 'event_count':
        return entries.length + overflow;
      case 'value_count':
        return new Set(entries.map((e) => e.value ?? '')).size;
      case 'value_sum':
      case 'value_avg': {
        let sum = 0;
        let n = 0;
        for (const e of entries) {
          const v = Number(e.value);
          if (Number.isFinite(v)) {
            sum += v;
            n++;
          }
        }
        return this.rule.type === 'value_sum' ? sum : n ? sum / n : 0;
      }
      default:
        return entries.length;
    }
  }

  private counting(g: Group, e: Entry, out: CorrelationMatch[]): void {
    if (
      this.rule.type === 'value_count' ||
      this.rule.type === 'value_percentile' ||
      this.rule.type === 'value_sum' ||
      this.rule.type === 'value_avg'
    ) {
      if (e.value === undefined) return; // the event lacks the counted field
    }
    if (!this.windowed) this.slide(g, e.t);
    this.add(g, e);
    if (this.windowed) return;
    let value: number;
    if (this.rule.type === 'value_percentile') {
      value = ((g.counts.get(e.value!) ?? 0) / g.entries.length) * 100;
    } else value = this.current(g);
    if (conditionHolds(this.rule.condition!, value)) {
      out.push(this.fire(g, g.entries, value));
      this.clear(g);
    }
  }

  private temporal(g: Group, e: Entry, out: CorrelationMatch[]): void {
    // Keep the latest entry per rule.
    if (!g.chain) g.chain = [];
    const chain = g.chain;
    chain[e.ref] = [e];
    const from = e.t - this.rule.timespanMs;
    const live = chain.filter((c): c is Entry[] => c !== undefined && c[0]!.t >= from && c[0]!.t <= e.t);
    const n = live.length;
    const ok = this.rule.condition ? conditionHolds(this.rule.condition, n) : n === this.rule.rules.length;
    if (ok) {
      const entries = live.map((c) => c[0]!).sort((a, b) => a.t - b.t);
      out.push(this.fire(g, entries, n));
      g.chain = [];
    }
  }

  private ordered(g: Group, e: Entry, out: CorrelationMatch[]): void {
    if (!g.chain) g.chain = [];
    const chain = g.chain;
    const k = e.ref;
    const span = this.rule.timespanMs;
    if (k === 0) chain[0] = [e];
    else {
      const prev = chain[k - 1];
      if (prev && prev[prev.length - 1]!.t <= e.t && e.t - prev[0]!.t <= span) chain[k] = [...prev, e];
    }
    const last = chain[this.rule.rules.length - 1];
    if (last) {
      const n = last.length;
      const ok = this.rule.condition ? conditionHolds(this.rule.condition, n) : true;
      if (ok) out.push(this.fire(g, last, n));
      g.chain = [];
    }
  }

  private close(g: Group): CorrelationMatch | null {
    if (g.entries.length === 0 && g.overflow === 0) return null;
    const value = this.measure(g.entries, g.overflow);
    return conditionHolds(this.rule.condition!, value) ? this.fire(g, g.entries, value) : null;
  }

  private fire(g: Group, entries: Entry[], value: number): CorrelationMatch {
    const kept = entries.slice(-this.limits.maxEvidence);
    const dropped = entries.length - kept.length + g.overflow;
    this.droppedEvidence += dropped;
    return {
      kind: 'correlation',
      rule: this.info,
      type: this.rule.type,
      group: g.values,
      value,
      firstMs: entries.length ? entries[0]!.t : g.start,
      lastMs: entries.length ? entries[entries.length - 1]!.t : g.last,
      contributors: kept.map((x) => x.match),
      droppedEvidence: dropped,
    };
  }

  /**
   * expire closes the windows that ended before `nowMs` (firing the window conditions that
   * hold) and frees groups with nothing left in their window.
   */
  expire(nowMs: number): CorrelationMatch[] {
    const out: CorrelationMatch[] = [];
    const span = this.rule.timespanMs;
    for (const [key, g] of this.groups) {
      if (this.windowed) {
        if (g.start + span < nowMs) {
          const m = this.close(g);
          if (m) out.push(m);
          this.groups.delete(key);
        }
      } else if (g.last + span < nowMs) this.groups.delete(key);
    }
    return out;
  }
}
