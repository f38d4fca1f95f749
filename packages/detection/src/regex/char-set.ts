/**
 * CharSet is a set of UTF-16 code units as sorted, disjoint, inclusive ranges
 * `[lo0, hi0, lo1, hi1, ...]`.
 */
export type CharSet = number[];

export const MAX_CODE = 0xffff;

/** normalize sorts and merges ranges. */
export function normalize(ranges: number[]): CharSet {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n && lo <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

export function union(...sets: CharSet[]): CharSet {
  return normalize(sets.flat());
}

export function negate(s: CharSet): CharSet {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < s.length; i += 2) {
    if (s[i]! > next) out.push(next, s[i]! - 1);
    next = s[i + 1]! + 1;
  }
  if (next <= MAX_CODE) out.push(next, MAX_CODE);
  return out;
}

export function single(c: number): CharSet {
  return [c, c];
}

/** caseFold adds the other case of every character in the set (for the `i` flag). */
export function caseFold(s: CharSet): CharSet {
  const extra: number[] = [];
  for (let i = 0; i < s.length; i += 2) {
    for (let c = s[i]!; c <= s[i + 1]!; c++) {
      const ch = String.fromCharCode(c);
      for (const o of [ch.toLowerCase(), ch.toUpperCase()]) {
        if (o.length === 1 && o !== ch) extra.push(o.charCodeAt(0), o.charCodeAt(0));
      }
    }
  }
  return extra.length ? union(s, extra) : s;
}

export function has(s: CharSet, c: number): boolean {
  for (let i = 0; i < s.length; i += 2) if (c >= s[i]! && c <= s[i + 1]!) return true;
  return false;
}

export const DIGIT: CharSet = [0x30, 0x39];
export const WORD: CharSet = normalize([0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a]);
// PCRE's \s: space, \t \n \v \f \r.
export const SPACE: CharSet = normalize([0x09, 0x0d, 0x20, 0x20]);
export const ANY: CharSet = [0, MAX_CODE];
export const NOT_NEWLINE: CharSet = negate(single(0x0a));
