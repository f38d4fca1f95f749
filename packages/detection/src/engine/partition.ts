import { AhoCorasick, SPECIAL } from '../compile/aho-corasick.js';
import type { FieldReader, FieldValue } from '../compile/field-reader.js';
import { exactKey, type Need, type Test } from '../compile/item-matcher.js';
import type { FieldRegistry } from '../compile/registry.js';

/** PartitionRule is one rule compiled for one log source. */
export interface PartitionRule {
  /** Index of the rule in the rule set. */
  rule: number;
  test: Test;
  need: Need;
}

/** Characters of a literal the automaton looks for (the rule itself checks the rest). */
export const MAX_SCAN_LITERAL = 12;

interface Scanner {
  slot: number;
  ac: AhoCorasick;
  /** literal id → pairs (position in `rules`, group bit) */
  litRules: Int32Array[];
}

interface ExactIndex {
  slot: number;
  /** exact key → pairs (position in `rules`, group bit) */
  keys: Map<string, Int32Array>;
}

/**
 * Partition holds the rules of one log source and its prefilter. Each rule's need is up to
 * three groups of facts that must all hold if it matches (a literal in a field, or a field's
 * exact value). Per field, one Aho-Corasick automaton finds every literal any rule needs there
 * and one hash lookup finds every exact value; a rule is evaluated only when each of its groups
 * was hit (rules with no need always are).
 */
export class Partition {
  readonly rules: PartitionRule[] = [];
  private always: number[] = [];
  private scanners: Scanner[] = [];
  private exacts: ExactIndex[] = [];
  private stamp = new Uint32Array(0);
  private maskStamp = new Uint32Array(0);
  private mask = new Uint8Array(0);
  private full = new Uint8Array(0);
  private litSeen: Uint32Array[] = [];
  private gen = 1;
  private readonly cand: number[] = [];
  /** Turn the prefilter off (to measure what it buys). */
  prefilter = true;

  constructor(
    readonly key: string,
    readonly reg: FieldRegistry,
    /** For a split source (auditd), the record type this partition takes. */
    readonly record?: string,
  ) {}

  add(r: PartitionRule): void {
    this.rules.push(r);
  }

  /** seal builds the prefilter once every rule is added. */
  seal(): void {
    const subs = new Map<number, Map<string, number[]>>();
    const exact = new Map<number, Map<string, number[]>>();
    this.always = [];
    this.full = new Uint8Array(this.rules.length);
    this.rules.forEach((r, pos) => {
      if (!r.need || r.need.length === 0) {
        this.always.push(pos);
        return;
      }
      this.full[pos] = (1 << r.need.length) - 1;
      r.need.forEach((group, gi) => {
        for (const { slot, lit: full, exact: isExact } of group) {
          // Any part of a necessary literal is necessary too: a bounded length keeps the
          // automaton small (and in cache) for a few more candidates.
          const lit = isExact ? full : full.slice(0, MAX_SCAN_LITERAL);
          const by = isExact ? exact : subs;
          let m = by.get(slot);
          if (!m) {
            m = new Map();
            by.set(slot, m);
          }
          let list = m.get(lit);
          if (!list) {
            list = [];
            m.set(lit, list);
          }
          if (list[list.length - 2] === pos && list[list.length - 1] === 1 << gi) continue;
          list.push(pos, 1 << gi);
        }
      });
    });
    this.scanners = [...subs].map(([slot, m]) => {
      const lits = [...m.keys()].filter((l) => l.length > 0);
      return { slot, ac: new AhoCorasick(lits), litRules: lits.map((l) => Int32Array.from(m.get(l)!)) };
    });
    this.exacts = [...exact].map(([slot, m]) => ({
      slot,
      keys: new Map([...m].map(([k, v]) => [k, Int32Array.from(v)])),
    }));
    this.litSeen = this.scanners.map((s) => new Uint32Array(s.litRules.length));
    this.stamp = new Uint32Array(this.rules.length);
    this.maskStamp = new Uint32Array(this.rules.length);
    this.mask = new Uint8Array(this.rules.length);
  }

  /** Number of literals and automaton states, for the benchmark and status. */
  stats(): { rules: number; always: number; literals: number; exact: number; states: number } {
    return {
      rules: this.rules.length,
      always: this.always.length,
      literals: this.scanners.reduce((n, s) => n + s.litRules.length, 0),
      exact: this.exacts.reduce((n, x) => n + x.keys.size, 0),
      states: this.scanners.reduce((n, s) => n + s.ac.states, 0),
    };
  }

  /** evaluate appends the rule-set index of every rule that matches the reader's event to `out`, in rule order. */
  evaluate(r: FieldReader, out: number[]): void {
    if (!this.prefilter) {
      for (const pr of this.rules) if (pr.test(r)) out.push(pr.rule);
      return;
    }
    let gen = ++this.gen;
    if (gen === 0xffffffff) {
      this.stamp.fill(0);
      this.maskStamp.fill(0);
      for (const l of this.litSeen) l.fill(0);
      this.gen = gen = 1;
    }
    const cand = this.cand;
    cand.length = 0;
    const stamp = this.stamp;
    const kw = this.reg.keywordSlots.length > 1 ? this.reg.keywordText : -1;
    for (let i = 0; i < this.scanners.length; i++) {
      const sc = this.scanners[i]!;
      if (sc.slot === kw) {
        // The joined keyword fields, scanned field by field (no literal spans a newline).
        for (const slot of this.reg.keywordSlots) this.scanField(sc, this.litSeen[i]!, r, slot, gen);
      } else this.scanField(sc, this.litSeen[i]!, r, sc.slot, gen);
    }
    for (const x of this.exacts) {
      const text = r.lower(x.slot);
      if (text !== undefined) {
        const hit = x.keys.get(exactKey(text));
        if (hit) this.markAll(hit, gen);
      } else {
        const v = r.value(x.slot);
        if (Array.isArray(v)) {
          for (const t of flatten(v)) {
            const hit = x.keys.get(exactKey(t));
            if (hit) this.markAll(hit, gen);
          }
        }
      }
    }
    for (const pos of this.always) {
      if (stamp[pos] !== gen) {
        stamp[pos] = gen;
        cand.push(pos);
      }
    }
    if (cand.length === 0) return;
    if (cand.length > 1) cand.sort((a, b) => a - b);
    for (const pos of cand) {
      const pr = this.rules[pos]!;
      if (pr.test(r)) out.push(pr.rule);
    }
  }

  private scanField(sc: Scanner, seen: Uint32Array, r: FieldReader, slot: number, gen: number): void {
    const text = r.str(slot);
    if (text !== undefined) this.scan(sc, seen, text, gen);
    else {
      const v = r.value(slot);
      if (Array.isArray(v)) for (const t of flatten(v)) this.scan(sc, seen, t, gen);
    }
  }

  /** scan runs one field's automaton over its text (case-folded as it goes) and marks the rules whose literals occur. */
  private scan(sc: Scanner, seen: Uint32Array, original: string, gen: number): void {
    const { classOf, delta, k, outStart, outList } = sc.ac;
    const litRules = sc.litRules;
    let text = original;
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
      if (s >= 0) continue;
      s = ~s;
      const st = s / k;
      const b = outStart[st + 1]!;
      for (let j = outStart[st]!; j < b; j++) {
        const lit = outList[j]!;
        if (seen[lit] === gen) continue;
        seen[lit] = gen;
        this.markAll(litRules[lit]!, gen);
      }
    }
  }

  /** markAll records that the groups in `pairs` (position, bit) were hit; complete rules become candidates. */
  private markAll(pairs: Int32Array, gen: number): void {
    const { stamp, maskStamp, mask, full, cand } = this;
    for (let x = 0; x < pairs.length; x += 2) {
      const pos = pairs[x]!;
      if (maskStamp[pos] !== gen) {
        maskStamp[pos] = gen;
        mask[pos] = 0;
      }
      const m = mask[pos]! | pairs[x + 1]!;
      mask[pos] = m;
      if (m === full[pos] && stamp[pos] !== gen) {
        stamp[pos] = gen;
        cand.push(pos);
      }
    }
  }
}

function flatten(v: FieldValue[], out: string[] = []): string[] {
  for (const x of v) {
    if (Array.isArray(x)) flatten(x, out);
    else if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')
      out.push(String(x).toLowerCase());
  }
  return out;
}
