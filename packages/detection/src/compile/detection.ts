import { type CondNode, ConditionError, ofTargets, parseCondition } from '../condition/condition.js';
import type { RegexLimits } from '../regex/linear-regex.js';
import { isPlainMap, type Plain, type PlainMap } from '../yaml/located-yaml.js';
import { ruleError } from './errors.js';
import { compileItem, groupQuality, type Need, type NeedGroup, type Test } from './item-matcher.js';
import { applyModifiers, type ItemOptions } from './modifiers.js';
import type { FieldRegistry } from './registry.js';

/** Tri is what the loader can prove about a piece of a rule on Palisade's events. */
export type Tri = 'never' | 'maybe' | 'always';

/** Compiled is a compiled selection or condition. */
export interface Compiled {
  test: Test;
  need: Need;
  tri: Tri;
  /** Why parts can never be true. */
  reasons: string[];
}

export interface CompileOptions extends ItemOptions {
  regex: Partial<RegexLimits>;
  /** Detection items (field: value pairs) per rule. @default 5000 */
  maxItems: number;
}

/** Groups of a conjunction kept for the prefilter (all are necessary; the best few are enough). */
const MAX_GROUPS = 3;

/** andNeeds: every child's groups are necessary; keep the best few. */
function andNeeds(needs: Need[]): Need {
  const groups = needs.filter((n): n is NeedGroup[] => n !== null).flat();
  if (groups.length === 0) return null;
  return groups.sort((a, b) => groupQuality(b) - groupQuality(a)).slice(0, MAX_GROUPS);
}

/** orNeeds: one alternative must hold, so the union of each one's best group is necessary. */
function orNeeds(needs: Need[]): Need {
  if (needs.some((n) => n === null || n.length === 0)) return null;
  return [needs.flatMap((n) => n![0]!)];
}

const and = (tests: Test[]): Test =>
  tests.length === 1
    ? tests[0]!
    : tests.length === 2
      ? (
          (a, b) => (r) =>
            a(r) && b(r)
        )(tests[0]!, tests[1]!)
      : (r) => {
          for (const t of tests) if (!t(r)) return false;
          return true;
        };

const or = (tests: Test[]): Test =>
  tests.length === 1
    ? tests[0]!
    : tests.length === 2
      ? (
          (a, b) => (r) =>
            a(r) || b(r)
        )(tests[0]!, tests[1]!)
      : (r) => {
          for (const t of tests) if (t(r)) return true;
          return false;
        };

function triAnd(ts: Tri[]): Tri {
  if (ts.includes('never')) return 'never';
  return ts.every((t) => t === 'always') ? 'always' : 'maybe';
}

function triOr(ts: Tri[]): Tri {
  if (ts.includes('always')) return 'always';
  return ts.every((t) => t === 'never') ? 'never' : 'maybe';
}

/** Counts detection items across a rule, to bound a huge rule. */
interface Budget {
  items: number;
}

function compileMap(
  m: PlainMap,
  reg: FieldRegistry,
  opts: CompileOptions,
  path: (string | number)[],
  budget: Budget,
): Compiled {
  const keys = Object.keys(m);
  if (keys.length === 0) throw ruleError('empty selection', path);
  const parts = keys.map((k) => {
    if (++budget.items > opts.maxItems) throw ruleError(`more than ${opts.maxItems} detection items`, path);
    const keyword = k === '' || k.startsWith('|');
    const item = applyModifiers(k, m[k]!, opts, [...path, k], keyword);
    const im = compileItem(item, reg, opts.regex, [...path, k]);
    return { ...im, tri: (im.never ? 'never' : 'maybe') as Tri, reasons: im.never ? [im.never] : [] };
  });
  return {
    test: and(parts.map((p) => p.test)),
    need: andNeeds(parts.map((p) => p.need)),
    tri: triAnd(parts.map((p) => p.tri)),
    reasons: parts.flatMap((p) => p.reasons),
  };
}

/** compileSelection compiles one search identifier: a map (AND), a list of maps (OR) or a list of keywords (OR). */
function compileSelection(
  v: Plain,
  reg: FieldRegistry,
  opts: CompileOptions,
  path: (string | number)[],
  budget: Budget,
): Compiled {
  if (isPlainMap(v)) return compileMap(v, reg, opts, path, budget);
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw ruleError('empty search identifier', path);
  if (list.every((x) => isPlainMap(x))) {
    const alts = list.map((x, i) => compileMap(x as PlainMap, reg, opts, [...path, i], budget));
    return {
      test: or(alts.map((a) => a.test)),
      need: orNeeds(alts.filter((a) => a.tri !== 'never').map((a) => a.need)),
      tri: triOr(alts.map((a) => a.tri)),
      reasons: alts.flatMap((a) => a.reasons),
    };
  }
  if (list.some((x) => isPlainMap(x) || Array.isArray(x))) {
    throw ruleError(
      'a search identifier list must hold either maps or plain values (keywords), not both',
      path,
    );
  }
  if (++budget.items > opts.maxItems) throw ruleError(`more than ${opts.maxItems} detection items`, path);
  const item = applyModifiers('', list as Plain, opts, path, true);
  const im = compileItem(item, reg, opts.regex, path);
  return { test: im.test, need: im.need, tri: 'maybe', reasons: [] };
}

/**
 * compileDetection compiles a detection section (search identifiers and condition(s)) against
 * one log source's fields. Several conditions are OR-ed, as the specification says.
 */
export function compileDetection(
  detection: PlainMap,
  conditions: string[],
  reg: FieldRegistry,
  opts: CompileOptions,
  root: string[],
  condPath: (string | number)[],
): Compiled {
  const budget: Budget = { items: 0 };
  const names = Object.keys(detection).filter((k) => k !== 'condition');
  const sels = new Map<string, Compiled>();
  for (const n of names) sels.set(n, compileSelection(detection[n]!, reg, opts, [...root, n], budget));
  const compiled = conditions.map((c, i) => {
    let node: CondNode;
    const at = conditions.length > 1 ? [...condPath, i] : condPath;
    try {
      node = parseCondition(c);
    } catch (e) {
      if (e instanceof ConditionError) throw ruleError(`condition '${c}': ${e.message}`, at);
      throw e;
    }
    return compileCond(node, sels, names, at, c);
  });
  return {
    test: or(compiled.map((c) => c.test)),
    need: orNeeds(compiled.filter((c) => c.tri !== 'never').map((c) => c.need)),
    tri: triOr(compiled.map((c) => c.tri)),
    reasons: [...new Set(compiled.flatMap((c) => c.reasons))],
  };
}

function compileCond(
  node: CondNode,
  sels: Map<string, Compiled>,
  names: string[],
  path: (string | number)[],
  src: string,
): Compiled {
  switch (node.t) {
    case 'id': {
      const s = sels.get(node.name);
      if (!s)
        throw ruleError(
          `condition '${src}' names '${node.name}', which is not a search identifier of the detection`,
          path,
        );
      return s;
    }
    case 'not': {
      const inner = compileCond(node.item, sels, names, path, src);
      const t = inner.test;
      return {
        test: (r) => !t(r),
        need: null,
        tri: inner.tri === 'never' ? 'always' : inner.tri === 'always' ? 'never' : 'maybe',
        reasons: inner.reasons,
      };
    }
    case 'and':
    case 'or': {
      const items = node.items.map((n) => compileCond(n, sels, names, path, src));
      return combine(node.t, items);
    }
    case 'of': {
      const targets = ofTargets(node.pattern, names);
      if (targets.length === 0) {
        throw ruleError(
          `condition '${src}': '${node.quantifier === 'one' ? '1' : 'all'} of ${node.pattern ?? 'them'}' matches no search identifier`,
          path,
        );
      }
      return combine(
        node.quantifier === 'one' ? 'or' : 'and',
        targets.map((t) => sels.get(t)!),
      );
    }
  }
}

function combine(op: 'and' | 'or', items: Compiled[]): Compiled {
  if (op === 'and') {
    return {
      test: and(items.map((i) => i.test)),
      need: andNeeds(items.map((i) => i.need)),
      tri: triAnd(items.map((i) => i.tri)),
      reasons: items.flatMap((i) => (i.tri === 'never' ? i.reasons : [])),
    };
  }
  return {
    test: or(items.map((i) => i.test)),
    need: orNeeds(items.filter((i) => i.tri !== 'never').map((i) => i.need)),
    tri: triOr(items.map((i) => i.tri)),
    reasons: items.flatMap((i) => i.reasons),
  };
}

/** andCompiled joins a rule and its filters: the rule matches only where every filter's condition holds. */
export function andCompiled(items: Compiled[]): Compiled {
  return combine('and', items);
}
