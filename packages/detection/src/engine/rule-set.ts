import { andCompiled, type Compiled, type CompileOptions, compileDetection } from '../compile/detection.js';
import { RuleProblem } from '../compile/errors.js';
import { FieldRegistry } from '../compile/registry.js';
import { MAPPING } from '../logsource/mapping.js';
import { resolveRuleLogSource } from '../logsource/resolve.js';
import { type ParseLimits, parseRuleFile, type RuleSource } from '../rule/parse-rules.js';
import type { AnyRule, CorrelationRule, DetectionRule, FilterRule, LogSource } from '../rule/rule-types.js';
import { Partition } from './partition.js';
import type { RuleInfo, RuleStatus } from './types.js';

/** RuleSetOptions configure loading. */
export interface RuleSetOptions {
  /** `%name%` placeholder values for the expand modifier. @default {} */
  placeholders?: Record<string, string[]>;
  /** Rule ids (or names) to load but not run. */
  disabled?: Iterable<string>;
  parse?: Partial<ParseLimits>;
  /** Values one detection item may expand to. @default 10000 */
  maxValues?: number;
  /** Detection items per rule. @default 5000 */
  maxItems?: number;
  /** NFA states per regular expression. @default 20000 */
  maxRegexStates?: number;
}

/** LoadedRule is a rule that runs: a detection rule in its partitions, or a correlation. */
export interface LoadedRule {
  index: number;
  info: RuleInfo;
  rule: DetectionRule | CorrelationRule;
  /** Whether its matches are reported (false for a rule only a correlation uses). */
  generate: boolean;
  /** Correlations (indexes) fed by this rule's matches. */
  feeds: number[];
}

/**
 * RuleSet is a compiled set of rules: built once (compileRuleSet), then read by any number of
 * engines. It holds every rule's load status, including the ones that did not load and why.
 */
export interface RuleSet {
  statuses: RuleStatus[];
  rules: LoadedRule[];
  /** partition key (log source id, or linux@id) → partition */
  partitions: Map<string, Partition>;
  /** type_uid → partitions that may take such an event */
  byType: Map<number, Partition[]>;
  /** Rule index by id and by name (for correlations). */
  byRef: Map<string, number>;
}

function info(r: AnyRule): RuleInfo {
  return {
    id: r.id,
    title: r.title,
    level: r.level ?? 'medium',
    tags: r.tags,
    ...(r.name ? { name: r.name } : {}),
    ...(r.description ? { description: r.description } : {}),
    ...(r.author ? { author: r.author } : {}),
    file: r.file,
  };
}

function logsourceCovers(filter: LogSource, rule: LogSource): boolean {
  for (const k of ['category', 'product', 'service'] as const) {
    if (filter[k] !== undefined && filter[k]?.toLowerCase() !== rule[k]?.toLowerCase()) return false;
  }
  return true;
}

function problemStatus(r: AnyRule, e: RuleProblem): Partial<RuleStatus> {
  return {
    state: e.kind,
    reason: e.message,
    ...(e.path.length ? { field: e.path.join('.'), errorLine: r.doc.lineOf(e.path) } : {}),
  };
}

/**
 * compileRuleSet parses, validates and compiles rule files. Nothing in it throws for a bad
 * rule: each document gets a status — loaded, disabled, unsupported (valid Sigma that cannot run
 * on Palisade's telemetry, with the reason) or error (with file, line and field) — and the rest
 * of the set loads.
 */
export function compileRuleSet(sources: RuleSource[], options: RuleSetOptions = {}): RuleSet {
  const copts: CompileOptions = {
    placeholders: options.placeholders ?? {},
    maxValues: options.maxValues ?? 10000,
    maxItems: options.maxItems ?? 5000,
    regex: { maxNfaStates: options.maxRegexStates ?? 20000 },
  };
  const disabled = new Set(options.disabled ?? []);
  const statuses: RuleStatus[] = [];
  const all: AnyRule[] = [];
  const statusOf = new Map<AnyRule, RuleStatus>();

  for (const src of sources) {
    let parsed: ReturnType<typeof parseRuleFile>;
    try {
      parsed = parseRuleFile(src, options.parse);
    } catch (e) {
      statuses.push({
        id: src.path,
        kind: 'file',
        file: src.path,
        line: 1,
        state: 'error',
        reason: `could not read: ${(e as Error).message}`,
      });
      continue;
    }
    for (const f of parsed.failures) {
      statuses.push({
        id: f.id ?? `${f.file}:${f.line}`,
        ...(f.title ? { title: f.title } : {}),
        kind: 'detection',
        file: f.file,
        line: f.line,
        state: f.kind,
        reason: f.message,
        ...(f.field ? { field: f.field, errorLine: f.line } : {}),
      });
    }
    for (const r of parsed.rules) {
      const st: RuleStatus = {
        id: r.id,
        title: r.title,
        kind: r.kind,
        file: r.file,
        line: r.line,
        state: 'loaded',
        ...(r.level ? { level: r.level } : {}),
      };
      statuses.push(st);
      statusOf.set(r, st);
      all.push(r);
    }
  }

  // Ids and names must be unique across the set.
  const byRef = new Map<string, AnyRule>();
  for (const r of all) {
    const st = statusOf.get(r)!;
    for (const key of [r.hasId ? r.id : null, r.name ?? null]) {
      if (key === null) continue;
      const prev = byRef.get(key);
      if (prev) {
        Object.assign(st, {
          state: 'error',
          reason: `${key === r.id ? 'id' : 'name'} '${key}' is already used by ${prev.file}:${prev.line}`,
          field: key === r.id ? 'id' : 'name',
        });
      } else byRef.set(key, r);
    }
  }
  const ok = (r: AnyRule) => statusOf.get(r)!.state === 'loaded';

  const filters = all.filter((r): r is FilterRule => r.kind === 'filter' && ok(r));
  const detections = all.filter((r): r is DetectionRule => r.kind === 'detection' && ok(r));
  const correlations = all.filter((r): r is CorrelationRule => r.kind === 'correlation' && ok(r));

  // Registries: one per log source (per record type of a split source), shared by its partitions.
  const regs = new Map<string, FieldRegistry>();
  const partitions = new Map<string, Partition>();
  const partition = (key: string): Partition => {
    let p = partitions.get(key);
    if (!p) {
      const id = key.startsWith('linux@') ? key.slice(6) : key;
      const [defId, record] = id.split('#') as [string, string | undefined];
      const def = MAPPING.find((d) => d.id === defId)!;
      let reg = regs.get(id);
      if (!reg) {
        reg = new FieldRegistry(def, record && def.split ? { [def.split.field]: [record] } : {});
        regs.set(id, reg);
      }
      p = new Partition(key, reg, record);
      partitions.set(key, p);
    }
    return p;
  };
  /** expand turns a split source's key into one key per record type. */
  const expand = (key: string): string[] => {
    const def = MAPPING.find((d) => d.id === key);
    return def?.split ? def.split.values.map((v) => `${key}#${v}`) : [key];
  };

  const loaded: LoadedRule[] = [];
  const indexOf = new Map<AnyRule, number>();
  const pending: { rule: number; key: string; compiled: Compiled }[] = [];

  for (const r of detections) {
    const st = statusOf.get(r)!;
    const res = resolveRuleLogSource(r.logsource);
    if ('reason' in res) {
      Object.assign(st, {
        state: 'unsupported',
        reason: res.reason,
        field: 'logsource',
        errorLine: r.doc.lineOf(['logsource']),
      });
      continue;
    }
    const myFilters = filters.filter(
      (f) =>
        logsourceCovers(f.logsource, r.logsource) &&
        (f.rules === 'any' || f.rules.includes(r.id) || (r.name !== undefined && f.rules.includes(r.name))),
    );
    const perKey: { key: string; compiled: Compiled }[] = [];
    let problem: RuleProblem | null = null;
    let filterProblem: { f: FilterRule; e: RuleProblem } | null = null;
    for (const key of res.keys.flatMap(expand)) {
      const reg = partition(key).reg;
      try {
        const main = compileDetection(
          r.detection,
          r.conditions,
          reg,
          copts,
          ['detection'],
          ['detection', 'condition'],
        );
        const parts = [main];
        for (const f of myFilters) {
          try {
            parts.push(
              compileDetection(f.detection, [f.condition], reg, copts, ['filter'], ['filter', 'condition']),
            );
          } catch (e) {
            if (!(e instanceof RuleProblem)) throw e;
            filterProblem = { f, e };
          }
        }
        perKey.push({ key, compiled: parts.length > 1 ? andCompiled(parts) : main });
      } catch (e) {
        if (!(e instanceof RuleProblem)) throw e;
        problem = e;
        break;
      }
    }
    if (filterProblem)
      Object.assign(statusOf.get(filterProblem.f)!, problemStatus(filterProblem.f, filterProblem.e));
    if (problem) {
      Object.assign(st, problemStatus(r, problem));
      continue;
    }
    const live = perKey.filter((p) => p.compiled.tri !== 'never');
    if (live.length === 0 || perKey.every((p) => p.compiled.tri === 'never')) {
      const reasons = mergeReasons(perKey.map((p) => ({ key: p.key, reasons: p.compiled.reasons })));
      Object.assign(st, {
        state: 'unsupported',
        reason: `can never match Palisade's events: ${reasons.join('; ') || 'the condition is never true'}`,
      });
      continue;
    }
    const everything = live.find((p) => p.compiled.tri === 'always');
    if (everything) {
      Object.assign(st, {
        state: 'error',
        reason: `the condition is true for every ${everything.key} event (a rule must select something)`,
        field: 'detection.condition',
        errorLine: r.doc.lineOf(['detection', 'condition']),
      });
      continue;
    }
    if (res.notes.length) st.notes = res.notes;
    const notes = [...new Set(live.flatMap((p) => p.compiled.reasons))];
    if (notes.length)
      st.notes = [...(st.notes ?? []), ...notes.map((n) => `never true (treated as missing): ${n}`)];
    st.logsources = [...new Set(live.map((p) => p.key))];
    const index = loaded.length;
    indexOf.set(r, index);
    loaded.push({ index, info: info(r), rule: r, generate: true, feeds: [] });
    for (const p of live) pending.push({ rule: index, key: p.key, compiled: p.compiled });
  }

  // Correlations: resolve references (ids or names), in dependency order.
  const corrIndex = new Map<CorrelationRule, number>();
  let progress = true;
  const waiting = new Set(correlations);
  while (progress && waiting.size) {
    progress = false;
    for (const c of [...waiting]) {
      const st = statusOf.get(c)!;
      const refs = c.rules.map((ref) => byRef.get(ref));
      const missing = c.rules.filter((_, i) => !refs[i]);
      if (missing.length) {
        Object.assign(st, {
          state: 'error',
          reason: `refers to ${missing.map((m) => `'${m}'`).join(', ')}, which no rule has as id or name`,
          field: 'correlation.rules',
          errorLine: c.doc.lineOf(['correlation', 'rules']),
        });
        waiting.delete(c);
        progress = true;
        continue;
      }
      const notLoaded = refs.filter(
        (r) =>
          r &&
          r.kind !== 'filter' &&
          statusOf.get(r)!.state !== 'loaded' &&
          !waiting.has(r as CorrelationRule),
      );
      const filtersRef = refs.filter((r) => r?.kind === 'filter');
      if (filtersRef.length) {
        Object.assign(st, {
          state: 'error',
          reason: `refers to a filter (${filtersRef[0]!.id}); correlations refer to rules`,
          field: 'correlation.rules',
        });
        waiting.delete(c);
        progress = true;
        continue;
      }
      if (notLoaded.length) {
        const r = notLoaded[0]!;
        const rs = statusOf.get(r)!;
        Object.assign(st, {
          state: rs.state === 'disabled' ? 'unsupported' : rs.state === 'error' ? 'error' : 'unsupported',
          reason: `refers to rule ${r.id} (${r.title}), which is not loaded: ${rs.reason ?? rs.state}`,
        });
        waiting.delete(c);
        progress = true;
        continue;
      }
      if (refs.some((r) => waiting.has(r as CorrelationRule))) continue;
      // Aliases must name rules of this correlation.
      let bad: string | null = null;
      for (const [alias, map] of Object.entries(c.aliases)) {
        for (const ruleName of Object.keys(map))
          if (!c.rules.includes(ruleName) && !refs.some((r) => r?.name === ruleName || r?.id === ruleName))
            bad = `alias '${alias}' names '${ruleName}', which is not one of the correlated rules`;
      }
      if (bad) {
        Object.assign(st, {
          state: 'error',
          reason: bad,
          field: 'correlation.aliases',
          errorLine: c.doc.lineOf(['correlation', 'aliases']),
        });
        waiting.delete(c);
        progress = true;
        continue;
      }
      const index = loaded.length;
      corrIndex.set(c, index);
      indexOf.set(c, index);
      loaded.push({ index, info: info(c), rule: c, generate: true, feeds: [] });
      for (const r of refs) {
        const ri = indexOf.get(r!)!;
        loaded[ri]!.feeds.push(index);
      }
      waiting.delete(c);
      progress = true;
    }
  }
  for (const c of waiting)
    Object.assign(statusOf.get(c)!, {
      state: 'error',
      reason: 'correlation rules refer to each other in a cycle',
      field: 'correlation.rules',
    });

  // Register the fields correlations read (group-by, aliases, value fields) in the partitions
  // of the rules they correlate, before any engine sizes its readers.
  for (const lr of loaded) {
    if (lr.rule.kind !== 'correlation') continue;
    const c = lr.rule;
    const names = [...c.groupBy, ...c.field, ...Object.values(c.aliases).flatMap((m) => Object.values(m))];
    for (const ref of c.rules) {
      const target = byRef.get(ref);
      if (target?.kind !== 'detection') continue;
      for (const key of statusOf.get(target)!.logsources ?? [])
        for (const n of names) partition(key).reg.slot(n);
    }
  }

  // generate: a rule used by correlations is reported alone only if one of them says generate: true.
  for (const lr of loaded) {
    if (lr.feeds.length === 0) continue;
    lr.generate = lr.feeds.some((ci) => (loaded[ci]!.rule as CorrelationRule).generate);
  }

  // Disabled rules keep their status but do not run.
  for (const lr of loaded) {
    const r = lr.rule;
    if (disabled.has(r.id) || (r.name && disabled.has(r.name))) {
      Object.assign(statusOf.get(r)!, { state: 'disabled', reason: 'disabled' });
    }
  }
  const running = (i: number) => statusOf.get(loaded[i]!.rule)!.state === 'loaded';
  for (const p of pending)
    if (running(p.rule)) partition(p.key).add({ rule: p.rule, test: p.compiled.test, need: p.compiled.need });
  for (const p of partitions.values()) p.seal();

  const byType = new Map<number, Partition[]>();
  for (const d of MAPPING) {
    for (const t of d.typeUids) {
      const list = byType.get(t) ?? [];
      for (const p of partitions.values()) if (p.reg.def === d && p.rules.length) list.push(p);
      byType.set(t, list);
    }
  }
  const refIndex = new Map<string, number>();
  for (const lr of loaded) {
    refIndex.set(lr.rule.id, lr.index);
    if (lr.rule.name) refIndex.set(lr.rule.name, lr.index);
  }
  // Filters that no loaded rule uses are still valid; say so.
  for (const f of filters) {
    const st = statusOf.get(f)!;
    if (st.state === 'loaded' && f.rules !== 'any') {
      const unknown = f.rules.filter((x) => !byRef.has(x));
      if (unknown.length)
        st.notes = [`applies to ${unknown.join(', ')}, which no loaded rule has as id or name`];
    }
  }
  return { statuses, rules: loaded, partitions, byType, byRef: refIndex };
}

/**
 * mergeReasons turns the reasons a rule can never match in each partition into one list. For
 * a split source (auditd, one partition per record type) a reason about the split field counts
 * only if it held in every partition — the rule then needs a record type the view lacks — and
 * is reported with the whole domain.
 */
function mergeReasons(per: { key: string; reasons: string[] }[]): string[] {
  const out: string[] = [];
  const splitReasons = new Map<string, number>();
  for (const { key, reasons } of per) {
    const def = MAPPING.find((d) => d.id === key.replace(/^linux@/, '').split('#')[0]);
    for (const r of reasons) {
      if (def?.split && r.startsWith(`${def.id} field '${def.split.field}' takes only`)) {
        const full = `${def.id} field '${def.split.field}' takes only ${def.split.values.join(', ')}`;
        splitReasons.set(full, (splitReasons.get(full) ?? 0) + 1);
      } else if (!out.includes(r)) out.push(r);
    }
  }
  const parts = per.length;
  for (const [r, n] of splitReasons) if (n === parts) out.unshift(r);
  return out;
}
