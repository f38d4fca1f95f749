import { QMARK, type SigmaString, STAR } from '../value/sigma-string.js';

/** StringTest tests a (lower-cased unless cased) field text. */
export type StringTest = (s: string) => boolean;

/** Shape of a compiled string pattern, for the prefilter and for golden output. */
export type PatternShape = 'eq' | 'prefix' | 'suffix' | 'contains' | 'any' | 'glob';

interface Segment {
  /** text pieces and the offset of each inside the segment */
  pieces: { text: string; at: number }[];
  len: number;
}

function segmentOf(parts: (string | typeof QMARK)[]): Segment {
  const pieces: { text: string; at: number }[] = [];
  let at = 0;
  for (const p of parts) {
    if (p === QMARK) at++;
    else {
      pieces.push({ text: p, at });
      at += p.length;
    }
  }
  return { pieces, len: at };
}

function segmentAt(s: string, i: number, seg: Segment): boolean {
  if (i + seg.len > s.length) return false;
  for (const p of seg.pieces) if (!s.startsWith(p.text, i + p.at)) return false;
  return true;
}

function findSegment(s: string, from: number, seg: Segment): number {
  if (seg.pieces.length === 0) return from + seg.len <= s.length ? from : -1;
  const first = seg.pieces[0]!;
  let i = s.indexOf(first.text, from + first.at);
  while (i >= 0) {
    const start = i - first.at;
    if (segmentAt(s, start, seg)) return start;
    i = s.indexOf(first.text, i + 1);
  }
  return -1;
}

/**
 * compileString turns a wildcard pattern into a test. Plain text, prefix, suffix and contains
 * use the string built-ins; anything else is matched segment by segment (each `*` splits the
 * pattern; segments with `?` are fixed-length), leftmost-first, which is exact for `*` patterns
 * and linear in the text for each segment.
 */
export function compileString(v: SigmaString, lower: boolean): { test: StringTest; shape: PatternShape } {
  const parts = v.parts.map((p) => (typeof p === 'string' ? (lower ? p.toLowerCase() : p) : p));
  const only = parts.filter((p) => typeof p !== 'object') as (string | typeof STAR | typeof QMARK)[];
  const n = only.length;
  if (n === 0) return { test: (s) => s === '', shape: 'eq' };
  if (only.every((p) => p === STAR)) return { test: () => true, shape: 'any' };
  if (!only.includes(STAR) && !only.includes(QMARK)) {
    const t = only.join('');
    return { test: (s) => s === t, shape: 'eq' };
  }
  if (n === 2 && only[0] === STAR && typeof only[1] === 'string') {
    const t = only[1];
    return { test: (s) => s.endsWith(t), shape: 'suffix' };
  }
  if (n === 2 && typeof only[0] === 'string' && only[1] === STAR) {
    const t = only[0];
    return { test: (s) => s.startsWith(t), shape: 'prefix' };
  }
  if (n === 3 && only[0] === STAR && typeof only[1] === 'string' && only[2] === STAR) {
    const t = only[1];
    return { test: (s) => s.includes(t), shape: 'contains' };
  }
  // General: split on stars.
  const segs: (string | typeof QMARK)[][] = [[]];
  for (const p of only) {
    if (p === STAR) segs.push([]);
    else segs[segs.length - 1]!.push(p);
  }
  const anchoredStart = only[0] !== STAR;
  const anchoredEnd = only[n - 1] !== STAR;
  const segments = segs.map(segmentOf);
  if (segments.length === 1) {
    const seg = segments[0]!;
    return { test: (s) => s.length === seg.len && segmentAt(s, 0, seg), shape: 'glob' };
  }
  const head = segments[0]!;
  const tail = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1);
  return {
    shape: 'glob',
    test: (s) => {
      let pos = 0;
      if (anchoredStart) {
        if (!segmentAt(s, 0, head)) return false;
        pos = head.len;
      }
      let end = s.length;
      if (anchoredEnd) {
        end = s.length - tail.len;
        if (end < pos || !segmentAt(s, end, tail)) return false;
      }
      for (const seg of middle) {
        if (seg.len === 0) continue;
        const at = findSegment(s, pos, seg);
        if (at < 0 || at + seg.len > end) return false;
        pos = at + seg.len;
      }
      return true;
    },
  };
}
