import { LinearRegex, type RegexLimits } from '../regex/linear-regex.js';
import { requiredLiteral } from '../regex/regex-parse.js';
import { inCidr, parseIp } from '../value/cidr.js';
import { literals, withStar } from '../value/sigma-string.js';
import { timePart, toDate } from '../value/time-part.js';
import { ruleError } from './errors.js';
import type { FieldReader, FieldValue } from './field-reader.js';
import type { CompiledItem } from './modifiers.js';
import type { FieldRegistry } from './registry.js';
import { compileString, type StringTest } from './string-match.js';
import type { ChainValue } from './value-types.js';

/**
 * NeedEntry is a prefilter fact about one field: its lower-cased text contains `lit`, or (exact)
 * equals it (numeric text normalised by exactKey).
 */
export interface NeedEntry {
  slot: number;
  lit: string;
  exact: boolean;
}
/** NeedGroup is satisfied when any of its entries holds. */
export type NeedGroup = NeedEntry[];
/** Need is a conjunction of groups: a rule can match only if every group is satisfied; null when nothing is known. */
export type Need = NeedGroup[] | null;

/** exactKey normalises a lower-cased field text for exact lookups: numbers compare by value. */
export function exactKey(s: string): string {
  const c = s.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45)) return s;
  return /^-?\d+(\.\d+)?$/.test(s) ? String(Number(s)) : s;
}

/** Test evaluates a compiled piece of a rule against an event. */
export type Test = (r: FieldReader) => boolean;

/** ItemMatcher is a compiled detection item. */
export interface ItemMatcher {
  test: Test;
  need: Need;
  /** Why the item can never be true on Palisade's events, if it cannot. */
  never?: string;
}

type SlotTest = (r: FieldReader, slot: number) => boolean;

function anyElement(v: FieldValue, f: (x: FieldValue) => boolean): boolean {
  return Array.isArray(v) && v.some((x) => (Array.isArray(x) ? anyElement(x, f) : f(x)));
}

function textTest(test: StringTest, cased: boolean): SlotTest {
  if (cased) {
    return (r, slot) => {
      const s = r.str(slot);
      if (s !== undefined) return test(s);
      return anyElement(r.value(slot), (x) => typeof x === 'string' && test(x));
    };
  }
  return (r, slot) => {
    const s = r.lower(slot);
    if (s !== undefined) return test(s);
    return anyElement(
      r.value(slot),
      (x) => (typeof x === 'string' || typeof x === 'number') && test(String(x).toLowerCase()),
    );
  };
}

function numberEquals(v: FieldValue, n: number): boolean {
  if (typeof v === 'number') return v === n;
  if (typeof v === 'string') {
    const t = v.trim();
    return t === String(n) || (/^-?\d+(\.\d+)?$/.test(t) && Number(t) === n);
  }
  return Array.isArray(v) && v.some((x) => numberEquals(x, n));
}

function toNumber(v: FieldValue): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

/** valueTest compiles one final value of an item into a test of a field slot. */
function valueTest(
  v: ChainValue,
  reg: FieldRegistry,
  limits: Partial<RegexLimits>,
  path: (string | number)[],
): SlotTest {
  switch (v.k) {
    case 'str':
      return textTest(compileString(v.s, !v.cased).test, v.cased);
    case 'num':
      return (r, slot) => numberEquals(r.value(slot), v.n);
    case 'bool':
      return (r, slot) => {
        const x = r.value(slot);
        return x === v.b || (typeof x === 'string' && x.toLowerCase() === String(v.b));
      };
    case 'null':
      return (r, slot) => {
        const x = r.value(slot);
        return x === undefined || x === null;
      };
    case 'exists':
      return (r, slot) => (r.value(slot) !== undefined) === v.b;
    case 're': {
      let src = v.src;
      if (v.start) src = `\\A(?:${src})`;
      if (v.end) src = `(?:${src})\\z`;
      let re: LinearRegex;
      try {
        re = new LinearRegex(src, { i: v.i, m: v.m, s: v.s }, limits);
      } catch (e) {
        throw ruleError(`regular expression /${v.src}/: ${(e as Error).message}`, path);
      }
      return (r, slot) => {
        const s = r.str(slot);
        if (s !== undefined) return re.test(s);
        return anyElement(r.value(slot), (x) => typeof x === 'string' && re.test(x));
      };
    }
    case 'cidr':
      return (r, slot) => {
        const test = (x: FieldValue) => {
          const ip = typeof x === 'string' ? parseIp(x) : null;
          return ip !== null && inCidr(ip, v.c);
        };
        const x = r.value(slot);
        return Array.isArray(x) ? anyElement(x, test) : test(x);
      };
    case 'cmp':
      return (r, slot) => {
        const n = toNumber(r.value(slot));
        if (n === null) return false;
        return v.op === 'lt' ? n < v.n : v.op === 'lte' ? n <= v.n : v.op === 'gt' ? n > v.n : n >= v.n;
      };
    case 'time':
      return (r, slot) => {
        const d = toDate(r.value(slot) as FieldValue);
        return d !== null && timePart(d, v.unit) === v.n;
      };
    case 'ref': {
      const other = reg.slot(v.field);
      return (r, slot) => {
        const a = r.lower(slot);
        const b = r.lower(other);
        if (a === undefined || b === undefined) return false;
        return v.mode === 'eq'
          ? a === b
          : v.mode === 'contains'
            ? a.includes(b)
            : v.mode === 'startswith'
              ? a.startsWith(b)
              : a.endsWith(b);
      };
    }
  }
}

/** needOf is what a value lets the prefilter look for: its whole text (exact) or its longest literal. */
function needOf(v: ChainValue, keyword: boolean): { lit: string; exact: boolean } | null {
  if (v.k === 'num')
    return keyword ? { lit: String(v.n), exact: false } : { lit: exactKey(String(v.n)), exact: true };
  if (v.k === 're') return { lit: requiredLiteral(v.src, { i: v.i, m: v.m, s: v.s }), exact: false };
  if (v.k !== 'str') return null;
  if (!keyword && v.s.parts.every((p) => typeof p === 'string')) {
    return { lit: exactKey(v.s.parts.join('').toLowerCase()), exact: true };
  }
  let best = '';
  for (const l of literals(v.s)) if (l.length > best.length) best = l;
  return { lit: best.toLowerCase(), exact: false };
}

/** groupQuality ranks groups: exact entries are best, then the longer the shortest literal; then the fewer entries. */
export function groupQuality(g: NeedGroup): number {
  let min = Infinity;
  for (const x of g) min = Math.min(min, x.exact ? 40 : Math.min(x.lit.length, 30));
  return min * 1000 - Math.min(g.length, 999);
}

/** Substring literals shorter than this are too common to prefilter on. */
export const MIN_LITERAL = 2;

/**
 * compileItem turns one detection item into a test of the event: the values are OR-ed (AND-ed
 * with `all`), `neq` negates the item, a keyword item (no field) looks in every keyword field.
 */
export function compileItem(
  item: CompiledItem,
  reg: FieldRegistry,
  limits: Partial<RegexLimits>,
  path: (string | number)[],
): ItemMatcher {
  const keyword = item.field === null;
  const values = keyword
    ? item.values.map((v) => (v.k === 'str' ? { ...v, s: withStar(v.s, true, true) } : v))
    : item.values;
  const slots = keyword ? reg.keywordSlots : [reg.slot(item.field!)];
  const tests = values.map((v) => valueTest(v, reg, limits, path));
  const one = (t: SlotTest): Test =>
    slots.length === 1
      ? (
          (slot) => (r: FieldReader) =>
            t(r, slot)
        )(slots[0]!)
      : (r) => {
          for (const slot of slots) if (t(r, slot)) return true;
          return false;
        };
  const parts = tests.map(one);
  let test: Test;
  if (parts.length === 1) test = parts[0]!;
  else if (item.all) test = (r) => parts.every((p) => p(r));
  else
    test = (r) => {
      for (const p of parts) if (p(r)) return true;
      return false;
    };
  if (item.negated) {
    const inner = test;
    test = (r) => !inner(r);
  }

  // Prefilter need: one group, each value contributing an exact key or its longest literal.
  let need: Need = null;
  const low = !keyword && reg.field(item.field!)?.lowSelectivity === true;
  if (!item.negated && !low) {
    const entries = values.map((v) => needOf(v, keyword));
    const ok = (e: { lit: string; exact: boolean } | null) =>
      e !== null && (e.exact || e.lit.length >= MIN_LITERAL);
    let pick: { lit: string; exact: boolean }[] | null = null;
    if (item.all) {
      const good = entries.filter(ok) as { lit: string; exact: boolean }[];
      if (good.length)
        pick = [
          good.reduce((a, b) =>
            groupQuality([{ slot: 0, ...b }]) > groupQuality([{ slot: 0, ...a }]) ? b : a,
          ),
        ];
    } else if (entries.every(ok)) pick = entries as { lit: string; exact: boolean }[];
    if (pick) {
      const group: NeedGroup = [];
      const seen = new Set<string>();
      for (const p of pick) {
        // A keyword literal is looked for once, in the keyword fields joined (none has a newline).
        const needSlots = keyword && !p.lit.includes('\n') ? [reg.keywordText] : slots;
        for (const slot of needSlots) {
          const key = `${slot}:${p.exact}:${p.lit}`;
          if (seen.has(key)) continue;
          seen.add(key);
          group.push({ slot, lit: p.lit, exact: p.exact });
        }
      }
      need = [group];
    }
  }

  // Can it ever be true on Palisade's events?
  let never: string | undefined;
  if (!keyword) {
    const name = item.field!;
    const missingOk = evaluateOn(test, slots[0]!, undefined);
    if (!reg.isKnown(name) && !missingOk) {
      never = `field '${name}' is not in Palisade's ${reg.def.id} events`;
    } else {
      const domain = reg.domainOf(name);
      if (domain && !missingOk && !domain.some((d) => evaluateOn(test, slots[0]!, d))) {
        never = `${reg.def.id} field '${name}' takes only ${domain.join(', ')}`;
      }
    }
  }
  return { test, need, never };
}

/** evaluateOn runs a test against an event that has only `value` in `slot`. */
function evaluateOn(test: Test, slot: number, value: FieldValue): boolean {
  const reader: FieldReader = {
    value: (sl) => (sl === slot ? value : undefined),
    str: (sl) => (sl === slot && typeof value === 'string' ? value : undefined),
    lower: (sl) => (sl === slot && typeof value === 'string' ? value.toLowerCase() : undefined),
  };
  return test(reader);
}
