import type { Getter } from '../logsource/fields.js';
import type { LogSourceDef } from '../logsource/mapping.js';

const none: Getter = () => undefined;

/**
 * FieldRegistry numbers the fields of one log source: first the mapping table's, then any other
 * name a rule uses (those read as missing from Palisade's events, but flat test events may have
 * them). Matchers read fields by these numbers.
 */
export class FieldRegistry {
  readonly names: string[] = [];
  readonly getters: Getter[] = [];
  private readonly slots = new Map<string, number>();
  private readonly known = new Set<string>();
  readonly keywordSlots: number[];
  /**
   * keywordText is a virtual field: the keyword fields joined by newlines. The prefilter scans
   * it once instead of every keyword field (a literal without a newline occurs in it exactly
   * when it occurs in one of them).
   */
  readonly keywordText: number;

  constructor(
    readonly def: LogSourceDef,
    private readonly domains: Record<string, string[]> = {},
  ) {
    for (const fd of def.fields) {
      this.known.add(fd.name);
      this.slot(fd.name, fd.get);
    }
    this.keywordSlots = def.keywords.map((k) => this.slot(k));
    const getters = this.keywordSlots.map((k) => this.getters[k]!);
    this.keywordText =
      getters.length === 1
        ? this.keywordSlots[0]!
        : this.slot('\u0000keywords', (e, c, rec) => {
            let out = '';
            for (const g of getters) {
              const v = g(e, c, rec);
              if (typeof v === 'string' || typeof v === 'number') out = out ? `${out}\n${v}` : String(v);
            }
            return out || undefined;
          });
  }

  /** slot returns the number of a field, registering it if new. */
  slot(name: string, get: Getter = none): number {
    let n = this.slots.get(name);
    if (n === undefined) {
      n = this.names.length;
      this.names.push(name);
      this.getters.push(get);
      this.slots.set(name, n);
    }
    return n;
  }

  /** isKnown tells whether Palisade's events have this field in this log source. */
  isKnown(name: string): boolean {
    return this.known.has(name);
  }

  field(name: string) {
    return this.def.fields.find((x) => x.name === name);
  }

  /** domainOf is the values a field can take in this partition, when finite. */
  domainOf(name: string): string[] | undefined {
    return this.domains[name] ?? this.field(name)?.domain;
  }
}
