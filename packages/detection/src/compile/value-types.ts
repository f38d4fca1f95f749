import type { Cidr } from '../value/cidr.js';
import type { SigmaString } from '../value/sigma-string.js';
import type { TimeUnit } from '../value/time-part.js';

/** A rule value while its modifier chain is applied (after the YAML, before matching). */
export type ChainValue =
  | { k: 'str'; s: SigmaString; cased: boolean }
  | { k: 'num'; n: number }
  | { k: 'bool'; b: boolean }
  | { k: 'null' }
  | { k: 're'; src: string; i: boolean; m: boolean; s: boolean; start: boolean; end: boolean }
  | { k: 'cidr'; c: Cidr }
  | { k: 'cmp'; op: 'lt' | 'lte' | 'gt' | 'gte'; n: number }
  | { k: 'time'; unit: TimeUnit; n: number }
  | { k: 'ref'; field: string; mode: 'eq' | 'contains' | 'startswith' | 'endswith' }
  | { k: 'exists'; b: boolean };

export const KIND_NAMES: Record<ChainValue['k'], string> = {
  str: 'string',
  num: 'number',
  bool: 'boolean',
  null: 'null',
  re: 'regular expression',
  cidr: 'CIDR',
  cmp: 'numeric comparison',
  time: 'time part',
  ref: 'field reference',
  exists: 'exists',
};
