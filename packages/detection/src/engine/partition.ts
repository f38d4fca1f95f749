import { AhoCorasick } from '../compile/aho-corasick.js';
import type { FieldReader, FieldValue } from '../compile/field-reader.js';
import type { Need, Test } from '../compile/item-matcher.js';
import type { FieldRegistry } from '../compile/registry.js';

/** PartitionRule is one rule compiled for one log source. */
export interface PartitionRule {
  /** Index of the rule in the rule set. */
  rule: number;
  test: Test;
  need: Need;
}

interface Scanner {
  slot: number;
  ac: AhoCorasick;
  /** literal id → positions (in `rules`) of the rules needing it */
  litRules: Int32Array[];
}

/**
 * Partition holds the rules of one log source and its prefilter: per field, an Aho-Corasick
 * automaton over every literal some rule needs there. For an event, each field with literals is
 * scanned once; only rules whose literal occurred (and rules without one) are evaluated.
 */
export class Partition {
  readonly rules: PartitionRule[] = [];
  private always: number[] = [];
  private scanners: Scanner[] = [];
  private stamp = new Uint32Array(0);
  private litSeen: Uint32Array[] = [];
  private gen = 1;
  private readonly cand: number[] = [];
  /** Turn the prefilter off (to measure what it buys). */
  prefilter = true;

  constructor(
    readonly key: string,
    readonly reg: FieldRegistry,
  ) {}

  add(r: PartitionRule): void {
    this.rules.push(r);
  }

  /** seal builds the prefilter once every rule is added. */
  seal(): void {
    const bySlot = new Map<number, Map<string, number[]>>();
    this.always = [];
    this.rules.forEach((r, pos) => {
      if (!r.need || r.need.length === 0) {
        this.always.push(pos);
        return;
      }
      for (const { slot, lit } of r.need) {
        let m = bySlot.get(slot);
        if (!m) {
          m = new Map();
          bySlot.set(slot, m);
        }
        let list = m.get(lit);
        if (!list) {
          list = [];
          m.set(lit, list);
        }
        if (list[list.length - 1] !== pos) list.push(pos);
      }
    });
    this.scanners = [...bySlot].map(([slot, m]) => {
      const lits = [...m.keys()];
      return { slot, ac: new AhoCorasick(lits), litRules: lits.map((l) => Int32Array.from(m.get(l)!)) };
    });
    this.litSeen = this.scanners.map((s) => new Uint32Array(s.litRules.length));
    this.stamp = new Uint32Array(this.rules.length);
  }

  /** Number of literals and automaton states, for the benchmark and status. */
  stats(): { rules: number; always: number; literals: number; states: number } {
    return {
      rules: this.rules.length,
      always: this.always.length,
      literals: this.scanners.reduce((n, s) => n + s.litRules.length, 0),
      states: this.scanners.reduce((n, s) => n + s.ac.states, 0),
    };
  }

  /** evaluate calls `onMatch` with the rule-set index of every rule that matches the reader's event, in rule order. */
  evaluate(r: FieldReader, onMatch: (rule: number) => void): void {
    if (!this.prefilter) {
      for (const pr of this.rules) if (pr.test(r)) onMatch(pr.rule);
      return;
    }
    const gen = ++this.gen;
    if (gen === 0xffffffff) {
      this.stamp.fill(0);
      for (const l of this.litSeen) l.fill(0);
      this.gen = 1;
    }
    const cand = this.cand;
    cand.length = 0;
    const stamp = this.stamp;
    for (let i = 0; i < this.scanners.length; i++) {
      const sc = this.scanners[i]!;
      const text = r.lower(sc.slot);
      let texts: string[] | null = null;
      if (text === undefined) {
        const v = r.value(sc.slot);
        if (!Array.isArray(v)) continue;
        texts = flatten(v);
      }
      const seen = this.litSeen[i]!;
      const litRules = sc.litRules;
      const hit = (lit: number) => {
        if (seen[lit] === gen) return;
        seen[lit] = gen;
        const rs = litRules[lit]!;
        for (let j = 0; j < rs.length; j++) {
          const pos = rs[j]!;
          if (stamp[pos] !== gen) {
            stamp[pos] = gen;
            cand.push(pos);
          }
        }
      };
      if (texts) for (const t of texts) sc.ac.scan(t, hit);
      else sc.ac.scan(text!, hit);
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
      if (pr.test(r)) onMatch(pr.rule);
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
