import { type Clock, systemClock } from '@palisade/common';
import type { Event } from '@palisade/protocol';
import type { FieldReader } from '../compile/field-reader.js';
import {
  type Contribution,
  type CorrelationLimits,
  CorrelationState,
  DEFAULT_CORRELATION_LIMITS,
} from '../correlation/correlation-state.js';
import type { EvalContext } from '../logsource/context.js';
import { resolveEventLogSource } from '../logsource/resolve.js';
import type { CorrelationRule } from '../rule/rule-types.js';
import type { Partition } from './partition.js';
import { FieldsReader, WireReader } from './readers.js';
import type { RuleSet } from './rule-set.js';
import type { CorrelationMatch, DetectionMatch, EventInput, Match, RuleStatus } from './types.js';

/** EngineOptions configure a DetectionEngine. */
export interface EngineOptions {
  /** The clock `expire` uses when given no time. @default systemClock */
  clock?: Clock;
  correlation?: Partial<CorrelationLimits>;
  /**
   * A rule that matches more than `share` of `window` consecutive events of its log source is
   * suspended (it matches everything: a flood, not a detection). @default {window: 10000, share: 0.5}
   */
  runaway?: { window: number; share: number };
}

/** EngineStats are the engine's counters. */
export interface EngineStats {
  events: number;
  matches: number;
  correlationMatches: number;
  /** Correlation groups dropped by the group cap, over all correlations. */
  droppedGroups: number;
  droppedEvidence: number;
  /** Events given as Sigma fields whose logsource is not one Palisade maps. */
  unmappedEvents: number;
  suspended: string[];
}

interface PartState {
  wire: WireReader;
  fields: FieldsReader;
  seen: number;
  hits: Int32Array;
}

/**
 * DetectionEngine evaluates events against a compiled RuleSet: for each event, the partitions
 * (log sources) it belongs to run their prefilter and candidate rules; matches of correlated
 * rules feed the correlations. One engine is single-threaded state (correlation windows,
 * readers); run one per worker. Time is event time; `expire` closes windows by the clock.
 */
export class DetectionEngine {
  private set: RuleSet;
  private readonly clock: Clock;
  private readonly limits: CorrelationLimits;
  private readonly runaway: { window: number; share: number };
  private parts = new Map<Partition, PartState>();
  private correlations = new Map<number, CorrelationState>();
  private matchedStamp = new Uint32Array(0);
  private gen = 1;
  private suspended = new Set<number>();
  private readonly counters = { events: 0, matches: 0, correlationMatches: 0, unmappedEvents: 0 };
  private watermark = 0;

  constructor(set: RuleSet, opts: EngineOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.limits = { ...DEFAULT_CORRELATION_LIMITS, ...opts.correlation };
    this.runaway = opts.runaway ?? { window: 10000, share: 0.5 };
    this.set = set;
    this.install(set, new Map());
  }

  private install(set: RuleSet, keep: Map<string, CorrelationState>): void {
    this.set = set;
    this.parts = new Map();
    for (const p of set.partitions.values()) {
      this.parts.set(p, {
        wire: new WireReader(p.reg),
        fields: new FieldsReader(p.reg),
        seen: 0,
        hits: new Int32Array(set.rules.length),
      });
    }
    this.correlations = new Map();
    for (const lr of set.rules) {
      if (lr.rule.kind !== 'correlation') continue;
      const prev = keep.get(stateKey(lr.rule));
      this.correlations.set(lr.index, prev ?? new CorrelationState(lr.rule, lr.info, this.limits));
    }
    this.matchedStamp = new Uint32Array(set.rules.length);
    this.suspended = new Set();
  }

  /**
   * reload switches to another rule set. Correlation state carries over for correlations whose
   * definition is unchanged (same id, type, rules, group-by, timespan and condition).
   */
  reload(set: RuleSet): void {
    const keep = new Map<string, CorrelationState>();
    for (const st of this.correlations.values()) keep.set(stateKey(st.rule), st);
    this.install(set, keep);
  }

  get ruleSet(): RuleSet {
    return this.set;
  }

  /** evaluate runs a wire event (with its host) through every rule; returns its matches. */
  evaluate(event: Event, ctx: EvalContext = {}): Match[] {
    return this.evaluateInput({ kind: 'wire', event, ctx });
  }

  /** evaluateInput runs one event of either form. */
  evaluateInput(input: EventInput): Match[] {
    this.counters.events++;
    const out: Match[] = [];
    if (++this.gen === 0xffffffff) {
      this.matchedStamp.fill(0);
      this.gen = 1;
    }
    const timeMs = input.kind === 'wire' ? Number(input.event.timeMs) : fieldsTime(input.fields);
    if (timeMs > this.watermark) this.watermark = timeMs;
    if (input.kind === 'wire') {
      const e = input.event;
      const list = this.set.byType.get(e.classUid * 100 + e.activityId);
      if (list) {
        for (const p of list) {
          const def = p.reg.def;
          if (def.accepts && !def.accepts(e)) continue;
          const ps = this.parts.get(p)!;
          if (def.records) {
            for (const rec of def.records(e)) {
              if (p.record !== undefined && def.split && def.split.of(rec) !== p.record) continue;
              ps.wire.reset(e, input.ctx, rec);
              this.run(p, ps, ps.wire, input, timeMs, out);
            }
          } else {
            ps.wire.reset(e, input.ctx, 0);
            this.run(p, ps, ps.wire, input, timeMs, out);
          }
        }
      }
    } else {
      const res = resolveEventLogSource(input.logsource);
      if ('reason' in res) this.counters.unmappedEvents++;
      else {
        for (const key of res.keys) {
          for (const p of this.partitionsFor(key, input.fields)) {
            const ps = this.parts.get(p)!;
            ps.fields.reset(input.fields);
            this.run(p, ps, ps.fields, input, timeMs, out);
          }
        }
      }
    }
    return out;
  }

  /** partitionsFor: the partition of a key; for a split source, the one of the event's record type (all when it has none). */
  private partitionsFor(key: string, fields: Record<string, unknown>): Partition[] {
    const p = this.set.partitions.get(key);
    if (p) return [p];
    const subs = [...this.set.partitions.values()].filter((x) => x.key.startsWith(`${key}#`));
    const def = subs[0]?.reg.def;
    const v = def?.split ? fields[def.split.field] : undefined;
    const one = typeof v === 'string' ? subs.find((x) => x.record === v.toUpperCase()) : undefined;
    return one ? [one] : subs;
  }

  private run(
    p: Partition,
    ps: PartState,
    reader: FieldReader,
    input: EventInput,
    timeMs: number,
    out: Match[],
  ): void {
    ps.seen++;
    const hits = this.hits;
    hits.length = 0;
    p.evaluate(reader, hits);
    for (let i = 0; i < hits.length; i++) {
      const rule = hits[i]!;
      if (this.matchedStamp[rule] === this.gen || this.suspended.has(rule)) continue;
      this.matchedStamp[rule] = this.gen;
      ps.hits[rule]!++;
      this.onMatch(input, timeMs, rule, p, reader, out);
    }
    if (ps.seen >= this.runaway.window) this.checkRunaway(ps);
  }

  private readonly hits: number[] = [];

  private onMatch(
    input: EventInput,
    timeMs: number,
    rule: number,
    part: Partition,
    reader: FieldReader,
    out: Match[],
  ): void {
    const lr = this.set.rules[rule]!;
    const m: DetectionMatch = {
      kind: 'detection',
      rule: lr.info,
      logsource: part.key.replace(/^linux@/, '').replace(/#.*$/, ''),
      event: input,
      timeMs,
    };
    this.counters.matches++;
    if (lr.generate) out.push(m);
    if (lr.feeds.length === 0) return;
    const contributions: { corr: number; x: Contribution }[] = [];
    for (const ci of lr.feeds) {
      const corr = this.set.rules[ci]!.rule as CorrelationRule;
      const ref = refIndexIn(corr, lr.rule);
      const group: Record<string, string> = {};
      for (const g of corr.groupBy) {
        const field = corr.aliases[g]?.[lr.rule.name ?? ''] ?? corr.aliases[g]?.[lr.rule.id] ?? g;
        group[g] = reader.str(part.reg.slot(field)) ?? '';
      }
      let value: string | undefined;
      if (corr.field.length) {
        const vals = corr.field.map((f) => reader.str(part.reg.slot(f)));
        value = vals.some((v) => v === undefined) ? undefined : vals.join('\u0000');
      }
      contributions.push({
        corr: ci,
        x: {
          ref,
          timeMs,
          key: JSON.stringify(corr.groupBy.map((g) => group[g])),
          group,
          match: m,
          ...(value !== undefined ? { value } : {}),
        },
      });
    }
    this.feed(contributions, out);
  }

  /** feed pushes contributions into correlations, chaining correlation matches onwards. */
  private feed(contributions: { corr: number; x: Contribution }[], out: Match[]): void {
    // Within one event, later rules of an ordered correlation go first, so that one event
    // cannot complete two steps of the same chain.
    contributions.sort((a, b) => a.corr - b.corr || b.x.ref - a.x.ref);
    for (const { corr, x } of contributions) {
      if (this.suspended.has(corr)) continue;
      const st = this.correlations.get(corr);
      if (!st) continue;
      for (const cm of st.push(x)) this.emitCorrelation(corr, cm, out);
    }
  }

  private emitCorrelation(corr: number, cm: CorrelationMatch, out: Match[]): void {
    const lr = this.set.rules[corr]!;
    this.counters.correlationMatches++;
    if (lr.generate) out.push(cm);
    const next: { corr: number; x: Contribution }[] = [];
    for (const ci of lr.feeds) {
      const outer = this.set.rules[ci]!.rule as CorrelationRule;
      const group: Record<string, string> = {};
      for (const g of outer.groupBy) {
        const field = outer.aliases[g]?.[lr.rule.name ?? ''] ?? outer.aliases[g]?.[lr.rule.id] ?? g;
        group[g] = cm.group[field] ?? '';
      }
      next.push({
        corr: ci,
        x: {
          ref: refIndexIn(outer, lr.rule),
          timeMs: cm.lastMs,
          key: JSON.stringify(outer.groupBy.map((g) => group[g])),
          group,
          match: cm,
        },
      });
    }
    if (next.length) this.feed(next, out);
  }

  private checkRunaway(ps: PartState): void {
    const limit = this.runaway.window * this.runaway.share;
    ps.hits.forEach((n, rule) => {
      if (n > limit) this.suspended.add(rule);
    });
    ps.hits.fill(0);
    ps.seen = 0;
  }

  /**
   * expire closes correlation windows that ended before `nowMs` (default: the later of the
   * clock and the newest event time seen) and returns the matches that completes.
   */
  expire(nowMs?: number): Match[] {
    const now = nowMs ?? Math.max(this.clock.now(), this.watermark);
    const out: Match[] = [];
    for (const [ci, st] of this.correlations)
      for (const cm of st.expire(now)) this.emitCorrelation(ci, cm, out);
    return out;
  }

  stats(): EngineStats {
    let droppedGroups = 0;
    let droppedEvidence = 0;
    for (const st of this.correlations.values()) {
      droppedGroups += st.droppedGroups;
      droppedEvidence += st.droppedEvidence;
    }
    return {
      ...this.counters,
      droppedGroups,
      droppedEvidence,
      suspended: [...this.suspended].map((i) => this.set.rules[i]!.rule.id),
    };
  }

  /** statuses are the rule set's load statuses, with rules suspended at run time marked. */
  statuses(): RuleStatus[] {
    const ids = new Set([...this.suspended].map((i) => this.set.rules[i]!.rule.id));
    return this.set.statuses.map((s) =>
      ids.has(s.id) && s.state === 'loaded'
        ? {
            ...s,
            state: 'error',
            reason: `suspended: matched more than ${this.runaway.share * 100}% of ${this.runaway.window} consecutive events`,
          }
        : s,
    );
  }
}

function refIndexIn(corr: CorrelationRule, r: { id: string; name?: string }): number {
  const i = corr.rules.findIndex((x) => x === r.id || (r.name !== undefined && x === r.name));
  return i < 0 ? 0 : i;
}

function stateKey(c: CorrelationRule): string {
  return JSON.stringify([c.id, c.type, c.rules, c.groupBy, c.timespanMs, c.condition, c.field, c.aliases]);
}

/** fieldsTime reads an event time from Sigma fields (UtcTime, or a `time` in ms), else 0. */
function fieldsTime(f: Record<string, unknown>): number {
  const t = f.UtcTime ?? f.time ?? f.timestamp;
  if (typeof t === 'number') return t;
  if (typeof t === 'string') {
    const ms = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(t) ? t : `${t.replace(' ', 'T')}Z`);
    return Number.isNaN(ms) ? 0 : ms;
  }
  return 0;
}
