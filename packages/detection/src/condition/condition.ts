/** CondNode is a parsed Sigma condition. */
export type CondNode =
  | { t: 'id'; name: string }
  | { t: 'and'; items: CondNode[] }
  | { t: 'or'; items: CondNode[] }
  | { t: 'not'; item: CondNode }
  | { t: 'of'; quantifier: 'one' | 'all'; pattern: string | null };

/** ConditionError is a syntax error in a condition, with the offending position. */
export class ConditionError extends Error {}

type Tok = { k: 'word'; v: string; at: number } | { k: '(' | ')'; at: number } | { k: 'end'; at: number };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      out.push({ k: c, at: i });
      i++;
      continue;
    }
    if (c === '|') {
      throw new ConditionError(
        `'|' at offset ${i}: the Sigma 1 aggregation syntax (| count() ...) is obsolete; write a correlation rule`,
      );
    }
    const m = /^[A-Za-z0-9_*\-.]+/.exec(src.slice(i));
    if (!m) throw new ConditionError(`unexpected '${c}' at offset ${i}`);
    out.push({ k: 'word', v: m[0], at: i });
    i += m[0].length;
  }
  out.push({ k: 'end', at: src.length });
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them', 'near']);

/**
 * parseCondition reads a condition with the specification's precedence, from least to most
 * binding: `or`, `and`, `not`, `1 of`/`all of`, parentheses. Operators are case-insensitive.
 */
export function parseCondition(src: string): CondNode {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p]!;
  const isWord = (w: string) => {
    const t = peek();
    return t.k === 'word' && t.v.toLowerCase() === w;
  };
  const fail = (msg: string): never => {
    throw new ConditionError(`${msg} at offset ${peek().at}`);
  };
  function or(): CondNode {
    const items = [and()];
    while (isWord('or')) {
      p++;
      items.push(and());
    }
    return items.length === 1 ? items[0]! : { t: 'or', items };
  }
  function and(): CondNode {
    const items = [not()];
    while (isWord('and')) {
      p++;
      items.push(not());
    }
    return items.length === 1 ? items[0]! : { t: 'and', items };
  }
  function not(): CondNode {
    if (isWord('not')) {
      p++;
      return { t: 'not', item: not() };
    }
    return primary();
  }
  function primary(): CondNode {
    const t = peek();
    if (t.k === '(') {
      p++;
      const inner = or();
      if (peek().k !== ')') fail("missing ')'");
      p++;
      return inner;
    }
    if (t.k !== 'word') return fail(t.k === 'end' ? 'condition ends early' : `unexpected '${t.k}'`);
    const w = t.v.toLowerCase();
    if (w === 'near') fail("'near' is the obsolete Sigma 1 syntax; write a temporal correlation rule");
    if (w === '1' || w === 'all' || /^\d+$/.test(w)) {
      const next = toks[p + 1];
      if (next?.k === 'word' && next.v.toLowerCase() === 'of') {
        if (w !== '1' && w !== 'all') fail(`'${t.v} of': Sigma defines only '1 of' and 'all of'`);
        p += 2;
        const target = peek();
        if (
          target.k !== 'word' ||
          (KEYWORDS.has(target.v.toLowerCase()) && target.v.toLowerCase() !== 'them')
        ) {
          fail(`'${t.v} of' needs 'them' or a search identifier pattern`);
        }
        p++;
        const pat = (target as { v: string }).v;
        return {
          t: 'of',
          quantifier: w === '1' ? 'one' : 'all',
          pattern: pat.toLowerCase() === 'them' ? null : pat,
        };
      }
    }
    if (KEYWORDS.has(w)) fail(`unexpected '${t.v}'`);
    if (t.v.includes('*')) fail(`'${t.v}': a pattern needs '1 of' or 'all of' before it`);
    p++;
    return { t: 'id', name: t.v };
  }
  const node = or();
  if (peek().k !== 'end') fail(`unexpected '${(peek() as { v?: string }).v ?? peek().k}'`);
  return node;
}

/** patternMatches tells whether a search identifier matches an `x of` pattern (`*` is any run). */
export function patternMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}

/** ofTargets lists the identifiers `x of pattern` (or `x of them`) ranges over: `them` and patterns skip `_` names. */
export function ofTargets(pattern: string | null, names: string[]): string[] {
  if (pattern === null) return names.filter((n) => !n.startsWith('_'));
  return names.filter((n) => patternMatches(pattern, n) && (!n.startsWith('_') || pattern.startsWith('_')));
}
