import type { Event } from '@palisade/protocol';
import type { EvalContext } from '../logsource/context.js';
import type { Level } from '../rule/rule-types.js';

/** RuleState is a rule's load status. */
export type RuleState = 'loaded' | 'disabled' | 'unsupported' | 'error';

/** RuleStatus says whether one rule document loaded, and if not exactly why and where. */
export interface RuleStatus {
  id: string;
  title?: string;
  kind: 'detection' | 'correlation' | 'filter' | 'file';
  file: string;
  /** Line of the rule document. */
  line: number;
  state: RuleState;
  /** Why it is not loaded (or disabled). */
  reason?: string;
  /** The offending field (a YAML path such as detection.selection.Image|endswith) and its line. */
  field?: string;
  errorLine?: number;
  /** The log sources (partitions) it runs in, when loaded. */
  logsources?: string[];
  /** Partial coverage: what the rule's log source lacks on Palisade. */
  notes?: string[];
  level?: Level;
}

/** EventInput is one event the engine evaluates: a wire Event, or Sigma fields with a logsource. */
export type EventInput =
  | { kind: 'wire'; event: Event; ctx: EvalContext }
  | {
      kind: 'fields';
      logsource: { category?: string; product?: string; service?: string };
      fields: Record<string, unknown>;
      ctx: EvalContext;
    };

/** RuleInfo is what a match says about its rule. */
export interface RuleInfo {
  id: string;
  title: string;
  level: Level;
  tags: string[];
  name?: string;
  description?: string;
  author?: string;
  file: string;
}

/** DetectionMatch is one event matching one rule. */
export interface DetectionMatch {
  kind: 'detection';
  rule: RuleInfo;
  /** The log source the rule matched in (e.g. process_creation, auditd). */
  logsource: string;
  event: EventInput;
  timeMs: number;
}

/** CorrelationMatch is a correlation rule's condition met, with every contributing event. */
export interface CorrelationMatch {
  kind: 'correlation';
  rule: RuleInfo;
  type: string;
  /** The group-by values the events share. */
  group: Record<string, string>;
  /** The count (event_count, temporal: distinct rules), distinct values (value_count), sum, average or percentile. */
  value: number;
  firstMs: number;
  lastMs: number;
  /** The matches that contributed, oldest first (capped: see droppedEvidence). */
  contributors: (DetectionMatch | CorrelationMatch)[];
  /** Contributors not kept because of the evidence cap. */
  droppedEvidence: number;
}

export type Match = DetectionMatch | CorrelationMatch;
