import type { LocatedDocument, PlainMap } from '../yaml/located-yaml.js';

export const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
/** Level is a Sigma rule level. */
export type Level = (typeof LEVELS)[number];

/** LogSource is a rule's `logsource`. */
export interface LogSource {
  category?: string;
  product?: string;
  service?: string;
}

/** RuleMeta is what every kind of rule document has. */
export interface RuleMeta {
  /** The rule id (from `id`, or `file:line` when the rule has none). */
  id: string;
  hasId: boolean;
  name?: string;
  title: string;
  description?: string;
  status?: string;
  level?: Level;
  tags: string[];
  author?: string;
  references: string[];
  falsepositives: string[];
  file: string;
  line: number;
  doc: LocatedDocument;
  /** Index of the document in its file (0-based). */
  docIndex: number;
}

/** DetectionRule is a Sigma rule with a detection section. */
export interface DetectionRule extends RuleMeta {
  kind: 'detection';
  logsource: LogSource;
  detection: PlainMap;
  conditions: string[];
  fields: string[];
}

export const CORRELATION_TYPES = [
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
  'value_sum',
  'value_avg',
  'value_percentile',
] as const;
export type CorrelationType = (typeof CORRELATION_TYPES)[number];

/** CountCondition is a correlation condition: each present bound must hold. */
export interface CountCondition {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  eq?: number;
  neq?: number;
}

/** CorrelationRule is a Sigma correlation (meta) rule. */
export interface CorrelationRule extends RuleMeta {
  kind: 'correlation';
  type: CorrelationType;
  rules: string[];
  groupBy: string[];
  timespanMs: number;
  timespan: string;
  condition: CountCondition | null;
  field: string[];
  aliases: Record<string, Record<string, string>>;
  generate: boolean;
}

/** FilterRule is a Sigma filter (meta filter): extra conditions AND-ed onto other rules. */
export interface FilterRule extends RuleMeta {
  kind: 'filter';
  logsource: LogSource;
  /** Rule ids or names, or 'any' for every rule of the log source. */
  rules: string[] | 'any';
  detection: PlainMap;
  condition: string;
}

export type AnyRule = DetectionRule | CorrelationRule | FilterRule;
