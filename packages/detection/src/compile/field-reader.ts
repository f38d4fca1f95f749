/** FieldValue is what an event holds in one field: a scalar, null, a list, or undefined when absent. */
export type FieldValue = string | number | boolean | null | undefined | FieldValue[];

/**
 * FieldReader is how compiled matchers read an event: by slot (a field's index in its log
 * source's field registry). Implementations cache per event, so a field is extracted and
 * lower-cased at most once however many rules read it.
 */
export interface FieldReader {
  /** value is the field's value; undefined when the event does not have the field. */
  value(slot: number): FieldValue;
  /** str is a scalar field as text (numbers and booleans in their usual form), else undefined. */
  str(slot: number): string | undefined;
  /** lower is `str` lower-cased. */
  lower(slot: number): string | undefined;
}

/** scalarText renders a scalar as matching sees it. */
export function scalarText(v: FieldValue): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** ValuesReader reads from a plain array of values (one per slot); used for flat events and tests. */
export class ValuesReader implements FieldReader {
  private lowers: (string | undefined)[] = [];
  private done: boolean[] = [];
  constructor(private vals: FieldValue[]) {}
  reset(vals: FieldValue[]): void {
    this.vals = vals;
    this.lowers = [];
    this.done = [];
  }
  value(slot: number): FieldValue {
    return this.vals[slot];
  }
  str(slot: number): string | undefined {
    return scalarText(this.vals[slot]);
  }
  lower(slot: number): string | undefined {
    if (!this.done[slot]) {
      this.done[slot] = true;
      this.lowers[slot] = this.str(slot)?.toLowerCase();
    }
    return this.lowers[slot];
  }
}
