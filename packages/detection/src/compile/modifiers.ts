import type { Plain } from '../yaml/located-yaml.js';
import { parseCidr } from '../value/cidr.js';
import { base64, base64Offsets, utf8Bytes, wideValue, windash } from '../value/encodings.js';
import {
  hasSpecial,
  parseSigmaString,
  plainText,
  type SigmaString,
  withStar,
} from '../value/sigma-string.js';
import { TIME_UNITS, type TimeUnit } from '../value/time-part.js';
import { ruleError } from './errors.js';
import { type ChainValue, KIND_NAMES } from './value-types.js';

/** Every modifier of the Sigma 2.1 modifier appendix (with pySigma's long names for the regex flags). */
export const MODIFIERS = [
  'contains',
  'startswith',
  'endswith',
  'all',
  'exists',
  'cased',
  'neq',
  'windash',
  're',
  'i',
  'm',
  's',
  'ignorecase',
  'multiline',
  'dotall',
  'base64',
  'base64offset',
  'utf16le',
  'utf16be',
  'utf16',
  'wide',
  'lt',
  'lte',
  'gt',
  'gte',
  'minute',
  'hour',
  'day',
  'week',
  'month',
  'year',
  'cidr',
  'expand',
  'fieldref',
] as const;

export type Modifier = (typeof MODIFIERS)[number];

/** ItemOptions configure how detection items are read. */
export interface ItemOptions {
  /** Values of `%name%` placeholders for the expand modifier (names without the percent signs). */
  placeholders: Record<string, string[]>;
  /** Values one item may expand to (windash, base64offset, expand, lists). @default 10000 */
  maxValues: number;
}

/** CompiledItem is a detection item after its modifier chain: what to compare, and how. */
export interface CompiledItem {
  /** The field, or null for a keyword (search across the event's text). */
  field: string | null;
  modifiers: Modifier[];
  values: ChainValue[];
  /** `all`: every value must match (default: any). */
  all: boolean;
  /** `neq`: the item is true when the field matches none of the values. */
  negated: boolean;
}

const POSITION = new Set<Modifier>(['contains', 'startswith', 'endswith']);
const ENCODINGS = new Set<Modifier>(['base64', 'base64offset', 'utf16le', 'utf16be', 'utf16', 'wide']);
const RE_FLAGS: Partial<Record<Modifier, 'i' | 'm' | 's'>> = {
  i: 'i',
  ignorecase: 'i',
  m: 'm',
  multiline: 'm',
  s: 's',
  dotall: 's',
};
const CMP = new Set<Modifier>(['lt', 'lte', 'gt', 'gte']);
/** Modifiers that must be the first value modifier (they read the value as written). */
const FIRST_ONLY = new Set<Modifier>(['re', 'cidr', 'exists']);
/** Modifiers that make no sense on a keyword (they need a field). */
const FIELD_ONLY = new Set<Modifier>([
  'exists',
  'fieldref',
  'cidr',
  'lt',
  'lte',
  'gt',
  'gte',
  'minute',
  'hour',
  'day',
  'week',
  'month',
  'year',
  'startswith',
  'endswith',
]);

function numericString(s: string): number | null {
  return /^-?\d+(\.\d+)?$/.test(s.trim()) ? Number(s) : null;
}

/**
 * applyModifiers reads one detection item — `field|mod1|mod2: value(s)` — applies its
 * modifiers in order, and type-checks the chain: a modifier that cannot apply to the value it
 * receives (`lt` on a string, `base64` after `contains`, `re` after `windash`, `exists` on a
 * list, an unknown modifier...) is an error naming it, never a silent no-match.
 */
export function applyModifiers(
  key: string,
  raw: Plain,
  opts: ItemOptions,
  path: (string | number)[],
  keyword = false,
): CompiledItem {
  const [fieldName, ...mods] = key.split('|');
  const field = keyword ? null : fieldName!;
  if (!keyword && fieldName === '') throw ruleError(`detection item '${key}' has an empty field name`, path);
  const modifiers: Modifier[] = [];
  for (const m of mods) {
    if (!(MODIFIERS as readonly string[]).includes(m)) {
      throw ruleError(
        `unknown modifier '${m}' in '${key}' (Sigma 2.1 defines: ${MODIFIERS.join(', ')})`,
        path,
      );
    }
    if (modifiers.includes(m as Modifier)) throw ruleError(`modifier '${m}' appears twice in '${key}'`, path);
    modifiers.push(m as Modifier);
  }
  const fail = (msg: string): never => {
    throw ruleError(`'${key}': ${msg}`, path);
  };
  if (modifiers.filter((m) => POSITION.has(m)).length > 1) {
    fail('contains, startswith and endswith exclude each other');
  }
  if (keyword)
    for (const m of modifiers)
      if (FIELD_ONLY.has(m)) fail(`'${m}' needs a field (keywords search the whole event)`);

  const rawList = Array.isArray(raw) ? raw : [raw];
  if (rawList.length === 0) fail('empty list of values');
  const hasExpand = modifiers.includes('expand');
  let values: ChainValue[] = rawList.map((v, i) => {
    if (v === null) return { k: 'null' };
    if (typeof v === 'string') return { k: 'str', s: parseSigmaString(v, hasExpand), cased: false };
    if (typeof v === 'number') return { k: 'num', n: v };
    if (typeof v === 'boolean') return { k: 'bool', b: v };
    throw ruleError(
      `'${key}': value ${Array.isArray(raw) ? `#${i + 1} ` : ''}is a ${Array.isArray(v) ? 'list' : 'map'}; values must be strings, numbers, booleans or null`,
      Array.isArray(raw) ? [...path, i] : path,
    );
  });
  if (values.length > 1 && values.some((v) => v.k === 'null')) {
    fail('null cannot be part of a list of values (use a separate selection)');
  }
  let all = false;
  let negated = false;
  let valueModsSeen = 0;
  const asStr = (v: ChainValue, m: string): Extract<ChainValue, { k: 'str' }> => {
    if (v.k === 'str') return v;
    if (v.k === 'num') return { k: 'str', s: { parts: [String(v.n)] }, cased: false };
    if (v.k === 'bool') return { k: 'str', s: { parts: [String(v.b)] }, cased: false };
    return fail(`'${m}' cannot apply to a ${KIND_NAMES[v.k]} value`);
  };
  const noPlaceholders = (v: SigmaString, m: string) => {
    if (v.parts.some((p) => typeof p === 'object'))
      fail(`'${m}' cannot encode a placeholder: put 'expand' first`);
  };

  for (const m of modifiers) {
    if (m === 'all') {
      if (values.length < 2)
        fail("'all' needs a list of two or more values (Sigma does not allow it on a single value)");
      all = true;
      continue;
    }
    if (m === 'neq') {
      negated = true;
      continue;
    }
    if (FIRST_ONLY.has(m) && valueModsSeen > 0)
      fail(`'${m}' applies only to the value as written (put it first)`);
    valueModsSeen++;
    const next: ChainValue[] = [];
    for (const v of values) {
      if (POSITION.has(m)) {
        if (v.k === 're')
          next.push({ ...v, start: m === 'startswith' || v.start, end: m === 'endswith' || v.end });
        else if (v.k === 'ref') next.push({ ...v, mode: m as 'contains' });
        else {
          const sv = asStr(v, m);
          next.push({ ...sv, s: withStar(sv.s, m !== 'startswith', m !== 'endswith') });
        }
      } else if (ENCODINGS.has(m)) {
        const sv = asStr(v, m);
        noPlaceholders(sv.s, m);
        if (m === 'base64' || m === 'base64offset') {
          if (hasSpecial(sv.s))
            fail(`'${m}' cannot encode wildcards (apply contains after ${m}, not before)`);
          const bytes = encodedBytes(sv.s, modifiers, m);
          const enc = m === 'base64' ? [base64(bytes)] : base64Offsets(bytes);
          for (const e of enc) next.push({ k: 'str', s: { parts: [e] }, cased: sv.cased });
        } else {
          const be = m === 'utf16be';
          next.push({ ...sv, s: wideValue(sv.s, be, m === 'utf16') });
        }
      } else if (m === 'windash') {
        const sv = asStr(v, m);
        try {
          for (const w of windash(sv.s, opts.maxValues)) next.push({ ...sv, s: w });
        } catch (e) {
          fail((e as Error).message);
        }
      } else if (m === 're') {
        if (v.k !== 'str' && v.k !== 'num') fail(`'re' needs a string pattern, got a ${KIND_NAMES[v.k]}`);
        const src = v.k === 'num' ? String(v.n) : rawText(rawList[values.indexOf(v)]);
        next.push({ k: 're', src, i: false, m: false, s: false, start: false, end: false });
      } else if (RE_FLAGS[m]) {
        if (v.k !== 're') fail(`'${m}' is a flag of the 're' modifier and must follow it`);
        next.push({ ...(v as Extract<ChainValue, { k: 're' }>), [RE_FLAGS[m]!]: true });
      } else if (m === 'cased') {
        if (v.k === 're')
          fail(
            "'cased' does not apply to regular expressions (they are case-sensitive; use 'i' to ignore case)",
          );
        const sv = asStr(v, m);
        next.push({ ...sv, cased: true });
      } else if (m === 'cidr') {
        if (v.k !== 'str') fail(`'cidr' needs a network such as 10.0.0.0/8, got a ${KIND_NAMES[v.k]}`);
        const text = plainText((v as Extract<ChainValue, { k: 'str' }>).s);
        try {
          next.push({ k: 'cidr', c: parseCidr(text) });
        } catch (e) {
          fail((e as Error).message);
        }
      } else if (CMP.has(m)) {
        const n =
          v.k === 'num' ? v.n : v.k === 'str' && !hasSpecial(v.s) ? numericString(plainText(v.s)) : null;
        if (n === null) fail(`'${m}' needs a number, got ${describe(v)}`);
        next.push({ k: 'cmp', op: m as 'lt', n: n! });
      } else if ((TIME_UNITS as string[]).includes(m)) {
        const n =
          v.k === 'num' ? v.n : v.k === 'str' && !hasSpecial(v.s) ? numericString(plainText(v.s)) : null;
        if (n === null || !Number.isInteger(n)) fail(`'${m}' needs a whole number, got ${describe(v)}`);
        next.push({ k: 'time', unit: m as TimeUnit, n: n! });
      } else if (m === 'expand') {
        if (v.k === 're') {
          for (const src of expandRegex(v.src, opts, fail)) next.push({ ...v, src });
        } else {
          const sv = asStr(v, m);
          for (const s of expandString(sv.s, opts, fail)) next.push({ ...sv, s });
        }
      } else if (m === 'fieldref') {
        const sv = asStr(v, m);
        if (hasSpecial(sv.s)) fail("'fieldref' takes a field name, without wildcards");
        next.push({ k: 'ref', field: plainText(sv.s), mode: 'eq' });
      } else if (m === 'exists') {
        if (values.length !== 1) fail("'exists' takes one boolean, not a list");
        const b =
          v.k === 'bool'
            ? v.b
            : v.k === 'str' && /^(true|false)$/i.test(plainText(v.s))
              ? /^true$/i.test(plainText(v.s))
              : null;
        if (b === null) fail(`'exists' takes true or false, got ${describe(v)}`);
        next.push({ k: 'exists', b: b! });
      }
      if (next.length > opts.maxValues) fail(`expands to more than ${opts.maxValues} values`);
    }
    values = next;
  }
  if (modifiers.includes('exists') && modifiers.some((m) => m !== 'exists')) {
    fail(`'exists' cannot be combined with other modifiers`);
  }
  if (all && values.some((v) => v.k === 'exists')) fail("'all' does not apply to 'exists'");
  for (const v of values) {
    if (v.k === 'str' && v.s.parts.some((p) => typeof p === 'object')) {
      fail('has a %placeholder% that was not expanded');
    }
  }
  return { field, modifiers, values, all, negated };
}

function rawText(v: Plain | undefined): string {
  return typeof v === 'string' ? v : String(v);
}

function describe(v: ChainValue): string {
  if (v.k === 'str') return `'${plainText(v.s)}'`;
  if (v.k === 'num') return String(v.n);
  if (v.k === 'bool') return String(v.b);
  return `a ${KIND_NAMES[v.k]}`;
}

/** The bytes a base64 modifier encodes: UTF-8 text, or the UTF-16 bytes an earlier modifier made. */
function encodedBytes(s: SigmaString, modifiers: Modifier[], at: Modifier): string {
  const before = modifiers.slice(0, modifiers.indexOf(at));
  const text = plainText(s);
  return before.some((m) => m === 'wide' || m === 'utf16le' || m === 'utf16be' || m === 'utf16')
    ? text
    : utf8Bytes(text);
}

function placeholderValues(name: string, opts: ItemOptions, fail: (m: string) => never): string[] {
  const vals = opts.placeholders[name];
  if (!vals) {
    const known = Object.keys(opts.placeholders);
    return fail(
      `placeholder %${name}% is not defined (configure it in the placeholder table${known.length ? `; defined: ${known.join(', ')}` : ''})`,
    );
  }
  if (vals.length === 0) return fail(`placeholder %${name}% has no values`);
  return vals;
}

function expandString(s: SigmaString, opts: ItemOptions, fail: (m: string) => never): SigmaString[] {
  let out: SigmaString[] = [{ parts: [] }];
  for (const p of s.parts) {
    if (typeof p === 'object') {
      const vals = placeholderValues(p.placeholder, opts, fail).map((v) => parseSigmaString(v));
      const next: SigmaString[] = [];
      for (const o of out) for (const v of vals) next.push({ parts: [...o.parts, ...v.parts] });
      if (next.length > opts.maxValues) fail(`expands to more than ${opts.maxValues} values`);
      out = next;
    } else for (const o of out) o.parts.push(p);
  }
  // Merge adjacent text parts.
  return out.map((o) =>
    parseSigmaString(
      o.parts
        .map((p) => (typeof p === 'string' ? p.replace(/[*?\\]/g, '\\$&') : p === 0 ? '*' : '?'))
        .join(''),
    ),
  );
}

function expandRegex(src: string, opts: ItemOptions, fail: (m: string) => never): string[] {
  return [
    src.replace(/%([A-Za-z0-9_.-]+)%/g, (_, name: string) => {
      const alts = placeholderValues(name, opts, fail).map((v) =>
        v
          .split('*')
          .map((piece) => piece.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
          .join('.*'),
      );
      return `(?:${alts.join('|')})`;
    }),
  ];
}
