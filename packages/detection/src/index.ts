/**
 * @palisade/detection is Palisade's Sigma engine: it parses and validates Sigma rules
 * (detection, correlation and filter rules, Sigma 2.1), compiles them once into matchers
 * partitioned by log source with a cross-rule literal prefilter, and evaluates Palisade's
 * events (wire Events, OCSF JSON, or Sigma fields) against them. The core does no I/O; reading
 * rule files from disk is `@palisade/detection/files`.
 */
export { compileRuleSet, type LoadedRule, type RuleSet, type RuleSetOptions } from './engine/rule-set.js';
export { DetectionEngine, type EngineOptions, type EngineStats } from './engine/engine.js';
export type {
  CorrelationMatch,
  DetectionMatch,
  EventInput,
  Match,
  RuleInfo,
  RuleState,
  RuleStatus,
} from './engine/types.js';
export type { RuleSource } from './rule/parse-rules.js';
export type { Level, LogSource } from './rule/rule-types.js';
export { LEVELS } from './rule/rule-types.js';
export type { EvalContext } from './logsource/context.js';
export { MAPPING, NOT_COLLECTED, type LogSourceDef, type SourceField } from './logsource/mapping.js';
export { renderMappingTable } from './logsource/mapping-doc.js';
export { fromOcsf, OcsfInputError } from './logsource/from-ocsf.js';
export { parseEventLine, type ParsedEventLine } from './logsource/event-line.js';
export { MODIFIERS } from './compile/modifiers.js';
export { LinearRegex } from './regex/linear-regex.js';
export type { CorrelationLimits } from './correlation/correlation-state.js';
