/**
 * AhoCorasick finds which of many literals occur in a text in one pass, as a dense DFA over
 * the literals' characters (every other character is one class). It is the engine's cross-rule
 * prefilter: one scan of a field tells which rules can possibly match.
 */
export class AhoCorasick {
  private readonly classOf = new Uint16Array(0x10000);
  private readonly k: number;
  private readonly delta: Int32Array;
  private readonly outStart: Int32Array;
  private readonly outList: Int32Array;
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

  /** scan calls `hit` with the id of every literal occurrence in `text` (an id may repeat). */
  scan(text: string, hit: (id: number) => void): void {
    const { classOf, delta, k, outStart, outList } = this;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      s = delta[s * k + classOf[text.charCodeAt(i)]!]!;
      const a = outStart[s]!;
      const b = outStart[s + 1]!;
      for (let j = a; j < b; j++) hit(outList[j]!);
    }
  }
}
