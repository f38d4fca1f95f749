import {
  ANY,
  type CharSet,
  caseFold,
  DIGIT,
  negate,
  NOT_NEWLINE,
  normalize,
  SPACE,
  single,
  union,
  WORD,
} from './char-set.js';

/** RegexNode is the syntax tree of a regular expression in Sigma's flavour. */
export type RegexNode =
  | { t: 'set'; set: CharSet }
  | { t: 'cat'; items: RegexNode[] }
  | { t: 'alt'; items: RegexNode[] }
  | { t: 'rep'; node: RegexNode; min: number; max: number }
  | { t: 'assert'; kind: 'bol' | 'eol' | 'start' | 'end' | 'word' | 'nonword' };

/** RegexFlags are the `i`, `m` and `s` sub-modifiers (or a leading `(?ims)`). */
export interface RegexFlags {
  i: boolean;
  m: boolean;
  s: boolean;
}

/** RegexSyntaxError says what is wrong with a pattern and where. */
export class RegexSyntaxError extends Error {}

const MAX_REPEAT = 1000;

/**
 * parseRegex reads Sigma's regular expression flavour (the PCRE subset of the modifier
 * appendix: `.`, `^`, `$`, `*`, `+`, `?`, `{n,m}`, classes, `|`, groups) plus the common escapes
 * (`\d \w \s \b`, `\.` ...), non-capturing and named groups, lazy quantifiers (which match the
 * same strings) and leading inline flags `(?i)`. Features that need backtracking —
 * backreferences, lookaround, possessive quantifiers, atomic groups — are refused: they cannot be
 * matched in linear time, and Sigma does not define them.
 */
export function parseRegex(src: string, flags: RegexFlags): { node: RegexNode; flags: RegexFlags } {
  let pos = 0;
  const f = { ...flags };
  // Leading inline flags: (?i) (?s) (?m) (?ims).
  for (;;) {
    const m = /^\(\?([ims]+)\)/.exec(src.slice(pos));
    if (!m) break;
    for (const c of m[1]!) f[c as 'i' | 'm' | 's'] = true;
    pos += m[0].length;
  }
  const fail = (msg: string): never => {
    throw new RegexSyntaxError(`${msg} at offset ${pos} of /${src}/`);
  };
  const set = (s: CharSet): RegexNode => ({ t: 'set', set: f.i ? caseFold(s) : s });

  function alt(): RegexNode {
    const items = [cat()];
    while (src[pos] === '|') {
      pos++;
      items.push(cat());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }
  function cat(): RegexNode {
    const items: RegexNode[] = [];
    while (pos < src.length && src[pos] !== '|' && src[pos] !== ')') items.push(repeat());
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }
  function repeat(): RegexNode {
    let node = atom();
    for (;;) {
      const c = src[pos];
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d*)(,(\d*))?\}/.exec(src.slice(pos));
        if (!m || (m[1] === '' && m[2] === undefined) || (m[1] === '' && !m[3])) return node; // a literal '{'
        min = m[1] === '' ? 0 : Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT))
          fail(`repetition count above ${MAX_REPEAT}`);
        if (max < min) fail('repetition {n,m} with m < n');
        pos += m[0].length - 1;
      } else return node;
      pos++;
      if (node.t === 'assert') fail('quantifier after an anchor');
      if (src[pos] === '+') fail('possessive quantifiers are not supported');
      if (src[pos] === '?') pos++; // lazy: matches the same strings
      node = { t: 'rep', node, min, max };
      if (src[pos] === '*' || src[pos] === '+' || src[pos] === '?') fail('nothing to repeat');
    }
  }
  function atom(): RegexNode {
    const c = src[pos]!;
    if (c === '(') {
      pos++;
      if (src[pos] === '?') {
        const rest = src.slice(pos);
        if (rest.startsWith('?:')) pos += 2;
        else if (/^\?P?<[A-Za-z_][A-Za-z0-9_]*>/.test(rest)) pos = src.indexOf('>', pos) + 1;
        else if (/^\?(=|!|<=|<!)/.test(rest)) fail('lookaround assertions are not supported');
        else if (rest.startsWith('?>')) fail('atomic groups are not supported');
        else if (/^\?[imsx-]+[:)]/.test(rest))
          fail('inline flags are supported only at the start of the pattern');
        else fail('unsupported group syntax');
      }
      const inner = alt();
      if (src[pos] !== ')') fail('missing )');
      pos++;
      return inner;
    }
    if (c === ')') fail('unbalanced )');
    if (c === '*' || c === '+' || c === '?') fail('nothing to repeat');
    pos++;
    if (c === '.') return { t: 'set', set: f.s ? ANY : NOT_NEWLINE };
    if (c === '^') return { t: 'assert', kind: f.m ? 'bol' : 'start' };
    if (c === '$') return { t: 'assert', kind: f.m ? 'eol' : 'end' };
    if (c === '[') return set(charClass());
    if (c === '\\') return readEscape(false) as RegexNode;
    return set(single(c.charCodeAt(0)));
  }
  /** readEscape reads what follows a backslash; in a class it returns a set. */
  function readEscape(inClass: boolean): RegexNode | CharSet {
    const c = src[pos];
    if (c === undefined) fail('trailing backslash');
    pos++;
    const wrap = (s: CharSet): RegexNode | CharSet => (inClass ? s : set(s));
    switch (c) {
      case 'd':
        return wrap(DIGIT);
      case 'D':
        return wrap(negate(DIGIT));
      case 'w':
        return wrap(WORD);
      case 'W':
        return wrap(negate(WORD));
      case 's':
        return wrap(SPACE);
      case 'S':
        return wrap(negate(SPACE));
      case 'n':
        return wrap(single(10));
      case 't':
        return wrap(single(9));
      case 'r':
        return wrap(single(13));
      case 'f':
        return wrap(single(12));
      case 'v':
        return wrap(single(11));
      case 'e':
        return wrap(single(27));
      case '0':
        return wrap(single(0));
      case 'x': {
        const m = /^([0-9a-fA-F]{2}|\{[0-9a-fA-F]{1,4}\})/.exec(src.slice(pos));
        if (!m) fail('bad \\x escape');
        pos += m![0].length;
        return wrap(single(Number.parseInt(m![0].replace(/[{}]/g, ''), 16)));
      }
      case 'u': {
        const m = /^[0-9a-fA-F]{4}/.exec(src.slice(pos));
        if (!m) fail('bad \\u escape');
        pos += 4;
        return wrap(single(Number.parseInt(m![0], 16)));
      }
    }
    if (!inClass) {
      if (c === 'b') return { t: 'assert', kind: 'word' };
      if (c === 'B') return { t: 'assert', kind: 'nonword' };
      if (c === 'A') return { t: 'assert', kind: 'start' };
      if (c === 'z' || c === 'Z') return { t: 'assert', kind: 'end' };
    }
    if (/[1-9]/.test(c!)) fail('backreferences are not supported');
    if (c === 'k' || c === 'g') fail('backreferences are not supported');
    if (/[A-Za-z]/.test(c!)) fail(`unsupported escape \\${c}`);
    return wrap(single(c!.charCodeAt(0)));
  }
  function charClass(): CharSet {
    let neg = false;
    if (src[pos] === '^') {
      neg = true;
      pos++;
    }
    const parts: CharSet[] = [];
    let first = true;
    while (pos < src.length && (src[pos] !== ']' || first)) {
      first = false;
      const posix = /^\[:(alpha|digit|alnum|space|upper|lower|punct|xdigit|word):\]/.exec(src.slice(pos));
      if (posix) {
        pos += posix[0].length;
        parts.push(POSIX[posix[1]!]!);
        continue;
      }
      const lo = classAtom();
      if (src[pos] === '-' && src[pos + 1] !== ']' && pos + 1 < src.length && typeof lo === 'number') {
        pos++;
        const hi = classAtom();
        if (typeof hi !== 'number') fail('bad range in character class');
        if ((hi as number) < lo) fail('range out of order in character class');
        parts.push([lo, hi as number]);
      } else parts.push(typeof lo === 'number' ? single(lo) : lo);
    }
    if (src[pos] !== ']') fail('missing ]');
    pos++;
    const s = union(...parts);
    const folded = f.i ? caseFold(s) : s;
    return neg ? negate(folded) : folded;
  }
  function classAtom(): number | CharSet {
    const c = src[pos]!;
    pos++;
    if (c !== '\\') return c.charCodeAt(0);
    const e = readEscape(true) as CharSet;
    return e.length === 2 && e[0] === e[1] ? e[0]! : e;
  }

  const node = alt();
  if (pos < src.length) fail(src[pos] === ')' ? 'unbalanced )' : 'unexpected character');
  return { node, flags: f };
}

const POSIX: Record<string, CharSet> = {
  alpha: normalize([0x41, 0x5a, 0x61, 0x7a]),
  digit: DIGIT,
  alnum: normalize([0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a]),
  space: SPACE,
  upper: [0x41, 0x5a],
  lower: [0x61, 0x7a],
  punct: normalize([0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e]),
  xdigit: normalize([0x30, 0x39, 0x41, 0x46, 0x61, 0x66]),
  word: WORD,
};

/**
 * requiredLiteral returns the longest text every match of the pattern must contain (lower-cased,
 * for the prefilter), or '' when the pattern has none. Only the top-level sequence is read: a
 * run of single characters (either case under `i`) that is neither optional nor alternative.
 */
export function requiredLiteral(src: string, flags: RegexFlags): string {
  let node: RegexNode;
  try {
    node = parseRegex(src, flags).node;
  } catch {
    return '';
  }
  const items = node.t === 'cat' ? node.items : [node];
  let best = '';
  let run = '';
  const charOf = (n: RegexNode): string | null => {
    if (n.t !== 'set') return null;
    const s = n.set;
    if (s.length === 2 && s[0] === s[1]) return String.fromCharCode(s[0]!).toLowerCase();
    if (s.length === 4 && s[0] === s[1] && s[2] === s[3]) {
      const a = String.fromCharCode(s[0]!).toLowerCase();
      return a === String.fromCharCode(s[2]!).toLowerCase() ? a : null;
    }
    return null;
  };
  const flush = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (const it of items) {
    const c = charOf(it);
    if (c !== null) run += c;
    else if (it.t === 'rep' && it.min >= 1 && charOf(it.node) !== null) {
      run += charOf(it.node);
      flush();
    } else if (it.t === 'assert') {
      // zero-width: does not break the run of characters around it
    } else flush();
  }
  flush();
  return best;
}
