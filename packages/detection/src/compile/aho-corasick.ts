/**
 * AhoCorasick finds which of many literals occur in a text in one pass, as a dense DFA over
 * the literals' characters (every other character is one class). It is the engine's cross-rule
 * prefilter: one scan of a field tells which rules can possibly match.
 */
/** The class of a character that cannot be folded one-to-one: scan the lower-cased text instead. */
export const SPECIAL = 0xffff;

export class AhoCorasick {
  readonly classOf = new Uint16Array(0x10000);
  readonly k: number;
  /**
   * delta[offset + class] is the next state's offset (state * k), bit-inverted (negative) when
   * that state reports literals, so the scan loop needs no multiplication and one sign test.
   */
  readonly delta: Int32Array;
  /** Literal ids found on entering state s: outList[outStart[s] .. outStart[s + 1]). */
  readonly outStart: Int32Array;
  readonly outList: Int32Array;
  readonly states: number;

  /** `literals[i]` is found as id i. Literals must be non-empty. */
  constructor(literals: string[]) {
    let classes = 1;
    for (const lit of literals) {
      for (let i = 0; i < lit.length; i++) {
        const c = lit.charCodeAt(i);
        if (this.classOf[c] === 0) this.classOf[c] = classes++;
      }
    }
    this.k = classes;
    // Case folding: a character scans as its lower-case form when that is one character (so the
    // text need not be lower-cased first). Characters whose lower case is longer (U+0130) or
    // depends on context (capital sigma) are marked: a text holding one is scanned lower-cased.
    for (let c = 0; c < 0x10000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCharCode(c);
      const lo = ch.toLowerCase();
      if (lo === ch) continue;
      if (lo.length !== 1 || c === 0x3a3) this.classOf[c] = SPECIAL;
      else this.classOf[c] = this.classOf[lo.charCodeAt(0)]!;
    }
    // Trie.
    const children: Map<number, number>[] = [new Map()];
    const own: number[][] = [[]];
    literals.forEach((lit, id) => {
      let s = 0;
      for (let i = 0; i < lit.length; i++) {
        const cl = this.classOf[lit.charCodeAt(i)]!;
        let n = children[s]!.get(cl);
        if (n === undefined) {
          n = children.length;
          children.push(new Map());
          own.push([]);
          children[s]!.set(cl, n);
        }
        s = n;
      }
      own[s]!.push(id);
    });
    const n = children.length;
    this.states = n;
    const k = this.k;
    const delta = new Int32Array(n * k);
    const fail = new Int32Array(n);
    const outs: number[][] = own.map((o) => [...o]);
    // BFS: goto function completed with failure transitions (a DFA).
    const queue: number[] = [];
    for (let c = 0; c < k; c++) {
      const t = children[0]!.get(c);
      if (t !== undefined) {
        delta[c] = t;
        fail[t] = 0;
        queue.push(t);
      } else delta[c] = 0;
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      const f = fail[s]!;
      if (outs[f]!.length) outs[s] = [...outs[s]!, ...outs[f]!];
      for (let c = 0; c < k; c++) {
        const t = children[s]!.get(c);
        if (t !== undefined) {
          fail[t] = delta[f * k + c]!;
          delta[s * k + c] = t;
          queue.push(t);
        } else delta[s * k + c] = delta[f * k + c]!;
      }
    }
    // Premultiply, and flag states with output.
    for (let i = 0; i < delta.length; i++) {
      const t = delta[i]!;
      delta[i] = outs[t]!.length ? ~(t * k) : t * k;
    }
    this.delta = delta;
    this.outStart = new Int32Array(n + 1);
    let total = 0;
    for (let s = 0; s < n; s++) {
      this.outStart[s] = total;
      total += outs[s]!.length;
    }
    this.outStart[n] = total;
    this.outList = new Int32Array(total);
    for (let s = 0, at = 0; s < n; s++) for (const id of outs[s]!) this.outList[at++] = id;
  }

  /** scan calls `hit` with the id of every literal occurrence in `text`, case-insensitively (an id may repeat). */
  scan(text: string, hit: (id: number) => void): void {
    const { classOf, delta, k, outStart, outList } = this;
    for (let i = 0; i < text.length; i++) {
      if (classOf[text.charCodeAt(i)] === SPECIAL) {
        text = text.toLowerCase();
        break;
      }
    }
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const cl = classOf[text.charCodeAt(i)]!;
      s = delta[s + (cl === SPECIAL ? 0 : cl)]!;
      if (s < 0) {
        s = ~s;
        const st = s / k;
        for (let j = outStart[st]!; j < outStart[st + 1]!; j++) hit(outList[j]!);
      }
    }
  }
}
