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

  constructor(readonly def: LogSourceDef) {
    for (const fd of def.fields) {
      this.known.add(fd.name);
      this.slot(fd.name, fd.get);
    }
    this.keywordSlots = def.keywords.map((k) => this.slot(k));
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
}
