import { type CharSet, MAX_CODE, WORD } from './char-set.js';
import { parseRegex, type RegexFlags, type RegexNode } from './regex-parse.js';

// NFA node kinds.
const CHAR = 0;
const SPLIT = 1;
const ASSERT = 2;
const MATCH = 3;

const A_START = 0;
const A_END = 1;
const A_BOL = 2;
const A_EOL = 3;
const A_WORD = 4;
const A_NONWORD = 5;
const ASSERT_KIND = { start: A_START, end: A_END, bol: A_BOL, eol: A_EOL, word: A_WORD, nonword: A_NONWORD };

/** The "next character" code for the end of the input. */
const END = -1;
const MATCHED = -2;
const UNKNOWN = -1;

/** RegexLimits bound what one pattern may cost. */
export interface RegexLimits {
  /** NFA states after expanding counted repetitions. @default 20000 */
  maxNfaStates: number;
  /** Cached DFA states per pattern; the cache is flushed (not grown) beyond it. @default 2000 */
  maxDfaStates: number;
}

const DEFAULT_LIMITS: RegexLimits = { maxNfaStates: 20000, maxDfaStates: 2000 };

interface DState {
  core: Int32Array;
  /** bit 0: at start of input; bit 1: previous char was \n; bit 2: previous char was a word char. */
  flags: number;
  trans: Int32Array;
  endMatch: number;
}

/**
 * LinearRegex matches a Sigma regular expression in time linear in the input, whatever the
 * pattern: a Thompson NFA simulated through a lazily built DFA (the RE2 design) over equivalence
 * classes of UTF-16 code units. There is no backtracking, so no pattern can hang the caller.
 * Matching is a search (the pattern may match anywhere), as in PCRE and Sigma.
 */
export class LinearRegex {
  private readonly kind: Int8Array;
  private readonly arg: Int32Array;
  private readonly next1: Int32Array;
  private readonly next2: Int32Array;
  private readonly sets: Uint8Array[] = [];
  private readonly classOf: Uint16Array;
  private readonly classCount: number;
  private readonly classIsWord: Uint8Array;
  private readonly startPc: number;
  private states: DState[] = [];
  private index = new Map<string, number>();
  private readonly initial: number;
  private readonly mark: Int32Array;
  private gen = 0;
  private readonly stack: Int32Array;
  /** Times the DFA cache was flushed (a pattern with a very large DFA). */
  flushes = 0;

  readonly source: string;
  readonly flags: RegexFlags;

  constructor(source: string, flags: RegexFlags, limits: Partial<RegexLimits> = {}) {
    const lim = { ...DEFAULT_LIMITS, ...limits };
    this.maxDfa = lim.maxDfaStates;
    const parsed = parseRegex(source, flags);
    this.source = source;
    this.flags = parsed.flags;
    // Build the NFA.
    const kind: number[] = [];
    const arg: number[] = [];
    const n1: number[] = [];
    const n2: number[] = [];
    const setList: CharSet[] = [];
    const add = (k: number, a: number, x: number, y: number): number => {
      if (kind.length >= lim.maxNfaStates) {
        throw new Error(
          `regular expression too large (more than ${lim.maxNfaStates} states after expanding repetitions)`,
        );
      }
      kind.push(k);
      arg.push(a);
      n1.push(x);
      n2.push(y);
      return kind.length - 1;
    };
    // Fragments: start pc and the list of dangling outputs [pc, which] to patch.
    type Frag = { start: number; outs: [number, 1 | 2][] };
    const patch = (outs: [number, 1 | 2][], to: number) => {
      for (const [pc, w] of outs) (w === 1 ? n1 : n2)[pc] = to;
    };
    const build = (node: RegexNode): Frag => {
      switch (node.t) {
        case 'set': {
          setList.push(node.set);
          const pc = add(CHAR, setList.length - 1, -1, -1);
          return { start: pc, outs: [[pc, 1]] };
        }
        case 'assert': {
          const pc = add(ASSERT, ASSERT_KIND[node.kind], -1, -1);
          return { start: pc, outs: [[pc, 1]] };
        }
        case 'cat': {
          if (node.items.length === 0) return empty();
          let first: Frag | null = null;
          let outs: [number, 1 | 2][] = [];
          for (const it of node.items) {
            const fr = build(it);
            if (!first) first = fr;
            else patch(outs, fr.start);
            outs = fr.outs;
          }
          return { start: first!.start, outs };
        }
        case 'alt': {
          const frags = node.items.map(build);
          let start = frags[frags.length - 1]!.start;
          for (let i = frags.length - 2; i >= 0; i--) start = add(SPLIT, 0, frags[i]!.start, start);
          return { start, outs: frags.flatMap((f) => f.outs) };
        }
        case 'rep':
          return repeat(node.node, node.min, node.max);
      }
    };
    const empty = (): Frag => {
      const pc = add(SPLIT, 0, -1, -1);
      // A SPLIT whose both arms go to the same place acts as an epsilon.
      return {
        start: pc,
        outs: [
          [pc, 1],
          [pc, 2],
        ],
      };
    };
    const repeat = (node: RegexNode, min: number, max: number): Frag => {
      const parts: Frag[] = [];
      for (let i = 0; i < min; i++) parts.push(build(node));
      if (max === Infinity) {
        const body = build(node);
        const split = add(SPLIT, 0, body.start, -1);
        patch(body.outs, split);
        parts.push({ start: split, outs: [[split, 2]] });
      } else {
        for (let i = min; i < max; i++) {
          const body = build(node);
          const split = add(SPLIT, 0, body.start, -1);
          parts.push({ start: split, outs: [...body.outs, [split, 2]] });
        }
      }
      if (parts.length === 0) return empty();
      for (let i = 1; i < parts.length; i++) patch(parts[i - 1]!.outs, parts[i]!.start);
      return { start: parts[0]!.start, outs: parts[parts.length - 1]!.outs };
    };
    const frag = build(parsed.node);
    const match = add(MATCH, 0, -1, -1);
    patch(frag.outs, match);
    this.startPc = frag.start;
    this.kind = Int8Array.from(kind);
    this.arg = Int32Array.from(arg);
    this.next1 = Int32Array.from(n1);
    this.next2 = Int32Array.from(n2);
    this.mark = new Int32Array(kind.length);
    this.stack = new Int32Array(kind.length * 2 + 2);

    // Equivalence classes of code units: boundaries of every set, of \w and of \n.
    const bounds = new Set<number>([0, 0x0a, 0x0b]);
    for (const s of [...setList, WORD]) {
      for (let i = 0; i < s.length; i += 2) {
        bounds.add(s[i]!);
        if (s[i + 1]! + 1 <= MAX_CODE) bounds.add(s[i + 1]! + 1);
      }
    }
    const starts = [...bounds].sort((a, b) => a - b);
    if (starts.length > 0xffff) throw new Error('regular expression has too many character classes');
    this.classOf = new Uint16Array(MAX_CODE + 1);
    for (let k = 0; k < starts.length; k++) {
      const end = k + 1 < starts.length ? starts[k + 1]! : MAX_CODE + 1;
      this.classOf.fill(k, starts[k]!, end);
    }
    this.classCount = starts.length;
    this.classIsWord = new Uint8Array(this.classCount);
    for (let k = 0; k < starts.length; k++) this.classIsWord[k] = inSet(WORD, starts[k]!) ? 1 : 0;
    this.newlineClass = this.classOf[0x0a]!;
    for (const s of setList) {
      const m = new Uint8Array(this.classCount);
      for (let k = 0; k < starts.length; k++) m[k] = inSet(s, starts[k]!) ? 1 : 0;
      this.sets.push(m);
    }
    this.initial = this.intern(new Int32Array(0), 1);
  }

  private readonly maxDfa: number;
  private readonly newlineClass: number;

  private intern(core: Int32Array, flags: number): number {
    const key = `${flags}:${core.join(',')}`;
    const found = this.index.get(key);
    if (found !== undefined) return found;
    if (this.states.length >= this.maxDfa) {
      // Flush the cache rather than grow it: each character still costs at most one closure.
      // The initial state is put back first so that it stays at index 0.
      this.flushes++;
      this.states = [];
      this.index = new Map();
      if (!(core.length === 0 && flags === 1)) this.intern(new Int32Array(0), 1);
    }
    const trans = new Int32Array(this.classCount).fill(UNKNOWN);
    this.states.push({ core, flags, trans, endMatch: UNKNOWN });
    this.index.set(key, this.states.length - 1);
    return this.states.length - 1;
  }

  /** closure follows epsilon edges from the state's core and the start; returns MATCHED or the CHAR pcs. */
  private closure(s: DState, nextClass: number, out: number[]): boolean {
    this.gen++;
    if (this.gen === 0x7fffffff) {
      this.mark.fill(0);
      this.gen = 1;
    }
    const mark = this.mark;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = this.startPc;
    for (let i = s.core.length - 1; i >= 0; i--) stack[sp++] = s.core[i]!;
    const atStart = (s.flags & 1) !== 0;
    const prevNl = (s.flags & 2) !== 0;
    const prevWord = (s.flags & 4) !== 0;
    const nextWord = nextClass >= 0 && this.classIsWord[nextClass] === 1;
    const nextNl = nextClass === this.newlineClass;
    let matched = false;
    while (sp > 0) {
      const pc = stack[--sp]!;
      if (pc < 0 || mark[pc] === this.gen) continue;
      mark[pc] = this.gen;
      switch (this.kind[pc]) {
        case CHAR:
          out.push(pc);
          break;
        case MATCH:
          matched = true;
          break;
        case SPLIT:
          stack[sp++] = this.next2[pc]!;
          stack[sp++] = this.next1[pc]!;
          break;
        case ASSERT: {
          const a = this.arg[pc];
          const ok =
            a === A_START
              ? atStart
              : a === A_END
                ? nextClass === END
                : a === A_BOL
                  ? atStart || prevNl
                  : a === A_EOL
                    ? nextClass === END || nextNl
                    : a === A_WORD
                      ? prevWord !== nextWord
                      : prevWord === nextWord;
          if (ok) stack[sp++] = this.next1[pc]!;
          break;
        }
      }
    }
    return matched;
  }

  private step(si: number, cls: number): number {
    const s = this.states[si]!;
    const pcs: number[] = [];
    if (this.closure(s, cls, pcs)) {
      s.trans[cls] = MATCHED;
      return MATCHED;
    }
    const next: number[] = [];
    for (const pc of pcs) if (this.sets[this.arg[pc]!]![cls] === 1) next.push(this.next1[pc]!);
    next.sort((a, b) => a - b);
    const core = Int32Array.from(next.filter((v, i) => i === 0 || next[i - 1] !== v));
    const flags = (cls === this.newlineClass ? 2 : 0) | (this.classIsWord[cls] === 1 ? 4 : 0);
    const before = this.states;
    const t = this.intern(core, flags);
    // After a cache flush the old state object is gone from the table: do not record into it.
    if (before === this.states) s.trans[cls] = t;
    return t;
  }

  /** test tells whether the pattern matches anywhere in `text`. */
  test(text: string): boolean {
    let si = this.initial;
    const classOf = this.classOf;
    for (let i = 0; i < text.length; i++) {
      const cls = classOf[text.charCodeAt(i)]!;
      let t = this.states[si]!.trans[cls]!;
      if (t === UNKNOWN) t = this.step(si, cls);
      if (t === MATCHED) return true;
      si = t;
    }
    const s = this.states[si]!;
    if (s.endMatch === UNKNOWN) s.endMatch = this.closure(s, END, []) ? 1 : 0;
    return s.endMatch === 1;
  }
}

function inSet(s: CharSet, c: number): boolean {
  for (let i = 0; i < s.length; i += 2) if (c >= s[i]! && c <= s[i + 1]!) return true;
  return false;
}
