import { ruleError, RuleProblem } from '../compile/errors.js';
import {
  isPlainMap,
  type LocatedDocument,
  type Plain,
  type PlainMap,
  parseLocatedYaml,
} from '../yaml/located-yaml.js';
import {
  type AnyRule,
  CORRELATION_TYPES,
  type CorrelationType,
  type CountCondition,
  LEVELS,
  type Level,
  type LogSource,
  type RuleMeta,
} from './rule-types.js';

/** RuleSource is one rule file's text and the name to report it by. */
export interface RuleSource {
  path: string;
  text: string;
}

/** ParseFailure is a document (or a whole file) that is not a valid rule. */
export interface ParseFailure {
  file: string;
  line: number;
  field?: string;
  kind: 'error' | 'unsupported';
  message: string;
  /** The rule's id and title, when the document got that far. */
  id?: string;
  title?: string;
}

export interface ParseLimits {
  /** Bytes per rule file. @default 1 MiB */
  maxFileBytes: number;
  /** Documents per rule file. @default 1000 */
  maxDocuments: number;
}

const DEFAULT_PARSE_LIMITS: ParseLimits = { maxFileBytes: 1 << 20, maxDocuments: 1000 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$/;
const TAG = /^[a-z0-9_-]+\.[a-z0-9._-]+$/;
const STATUSES = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'];
const RELATED_TYPES = ['derived', 'obsolete', 'merged', 'renamed', 'similar'];
const TIMESPAN = /^(\d+)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function deepMerge(base: Plain, over: Plain): Plain {
  if (isPlainMap(base) && isPlainMap(over)) {
    const out = Object.create(null) as PlainMap;
    for (const k of Object.keys(base)) out[k] = base[k]!;
    for (const k of Object.keys(over)) out[k] = k in out ? deepMerge(out[k]!, over[k]!) : over[k]!;
    return out;
  }
  return over;
}

/**
 * parseRuleFile reads one rule file: every YAML document becomes a detection, correlation or
 * filter rule, or a failure naming the file, line and field. Sigma 1's multi-document actions
 * are honoured: `action: global` sets attributes merged into the documents after it,
 * `action: reset` clears them, `action: repeat` repeats the previous document with changes.
 */
export function parseRuleFile(
  src: RuleSource,
  limits: Partial<ParseLimits> = {},
): { rules: AnyRule[]; failures: ParseFailure[] } {
  const lim = { ...DEFAULT_PARSE_LIMITS, ...limits };
  const failures: ParseFailure[] = [];
  const rules: AnyRule[] = [];
  const bytes = Buffer.byteLength(src.text, 'utf8');
  if (bytes > lim.maxFileBytes) {
    failures.push({
      file: src.path,
      line: 1,
      kind: 'error',
      message: `rule file is ${bytes} bytes, more than the limit of ${lim.maxFileBytes}`,
    });
    return { rules, failures };
  }
  const parsed = parseLocatedYaml(src.text);
  if ('error' in parsed) {
    failures.push({
      file: src.path,
      line: parsed.error.line,
      kind: 'error',
      message: `YAML: ${parsed.error.message}`,
    });
    return { rules, failures };
  }
  const docs = parsed.docs.filter((d) => d.value !== null);
  if (docs.length === 0) {
    failures.push({ file: src.path, line: 1, kind: 'error', message: 'the file holds no YAML document' });
    return { rules, failures };
  }
  if (docs.length > lim.maxDocuments) {
    failures.push({
      file: src.path,
      line: 1,
      kind: 'error',
      message: `${docs.length} documents, more than the limit of ${lim.maxDocuments}`,
    });
    return { rules, failures };
  }
  let global: Plain = Object.create(null) as PlainMap;
  let previous: Plain | null = null;
  docs.forEach((doc, i) => {
    const v = doc.value;
    if (!isPlainMap(v)) {
      failures.push({
        file: src.path,
        line: doc.line,
        kind: 'error',
        message: 'a rule document must be a YAML mapping',
      });
      return;
    }
    const action = v.action;
    let value: Plain = v;
    if (action !== undefined) {
      if (action === 'global') {
        const g = Object.create(null) as PlainMap;
        for (const k of Object.keys(v)) if (k !== 'action') g[k] = v[k]!;
        global = g;
        return;
      }
      if (action === 'reset') {
        global = Object.create(null) as PlainMap;
        return;
      }
      if (action === 'repeat') {
        if (!previous) {
          failures.push({
            file: src.path,
            line: doc.line,
            field: 'action',
            kind: 'error',
            message: "'action: repeat' with no document before it to repeat",
          });
          return;
        }
        const rest = Object.create(null) as PlainMap;
        for (const k of Object.keys(v)) if (k !== 'action') rest[k] = v[k]!;
        value = deepMerge(previous, rest);
      } else {
        failures.push({
          file: src.path,
          line: doc.lineOf(['action']),
          field: 'action',
          kind: 'error',
          message: `unknown action '${String(action)}' (Sigma defines global, reset, repeat)`,
        });
        return;
      }
    } else value = deepMerge(global, v);
    previous = value;
    try {
      rules.push(parseDocument(value as PlainMap, doc, src.path, i));
    } catch (e) {
      if (!(e instanceof RuleProblem)) throw e;
      const m = isPlainMap(value) ? value : null;
      failures.push({
        file: src.path,
        line: doc.lineOf(e.path),
        ...(e.path.length ? { field: e.path.join('.') } : {}),
        kind: e.kind,
        message: e.message,
        ...(m && typeof m.id === 'string' ? { id: m.id } : {}),
        ...(m && typeof m.title === 'string' ? { title: m.title } : {}),
      });
    }
  });
  return { rules, failures };
}

const str = (m: PlainMap, k: string, max?: number): string | undefined => {
  const v = m[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw ruleError(`'${k}' must be a string`, [k]);
  if (max !== undefined && v.length > max) throw ruleError(`'${k}' is longer than ${max} characters`, [k]);
  return v;
};

const strList = (m: PlainMap, k: string, allowString = false): string[] => {
  const v = m[k];
  if (v === undefined || v === null) return [];
  if (allowString && typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw ruleError(`'${k}' must be a list of strings`, [k]);
  return v.map((x, i) => {
    if (typeof x !== 'string') throw ruleError(`'${k}' item ${i + 1} must be a string`, [k, i]);
    return x;
  });
};

function meta(
  m: PlainMap,
  doc: LocatedDocument,
  file: string,
  docIndex: number,
  required: string[],
): RuleMeta {
  for (const k of required)
    if (m[k] === undefined || m[k] === null) throw ruleError(`missing required field '${k}'`, [k]);
  const title = str(m, 'title', 256)!;
  const id = str(m, 'id');
  if (id !== undefined && !UUID.test(id)) throw ruleError(`'id' must be a UUID, got '${id}'`, ['id']);
  const name = str(m, 'name', 256);
  const status = str(m, 'status');
  if (status !== undefined && !STATUSES.includes(status))
    throw ruleError(`'status' must be one of ${STATUSES.join(', ')}`, ['status']);
  const level = str(m, 'level');
  if (level !== undefined && !(LEVELS as readonly string[]).includes(level)) {
    throw ruleError(`'level' must be one of ${LEVELS.join(', ')}, got '${level}'`, ['level']);
  }
  for (const k of ['date', 'modified']) {
    const d = str(m, k);
    if (d !== undefined && !DATE.test(d))
      throw ruleError(`'${k}' must be a date YYYY-MM-DD, got '${d}'`, [k]);
  }
  str(m, 'description', 65535);
  str(m, 'license');
  const tags = strList(m, 'tags');
  tags.forEach((t, i) => {
    if (!TAG.test(t)) throw ruleError(`tag '${t}' is not namespace.value in lower case`, ['tags', i]);
  });
  if (m.related !== undefined && m.related !== null) {
    if (!Array.isArray(m.related)) throw ruleError("'related' must be a list", ['related']);
    m.related.forEach((r, i) => {
      if (!isPlainMap(r) || typeof r.id !== 'string' || typeof r.type !== 'string') {
        throw ruleError("each 'related' entry needs an id and a type", ['related', i]);
      }
      if (!RELATED_TYPES.includes(r.type))
        throw ruleError(`related type '${r.type}' is not one of ${RELATED_TYPES.join(', ')}`, [
          'related',
          i,
          'type',
        ]);
    });
  }
  const taxonomy = str(m, 'taxonomy', 256);
  if (taxonomy !== undefined && taxonomy !== 'sigma') {
    throw new RuleProblem(
      'unsupported',
      `taxonomy '${taxonomy}': only the default taxonomy 'sigma' is supported`,
      ['taxonomy'],
    );
  }
  const author = m.author === undefined || m.author === null ? undefined : str(m, 'author');
  return {
    id: id ?? `${file}:${doc.line}`,
    hasId: id !== undefined,
    ...(name !== undefined ? { name } : {}),
    title,
    ...(m.description ? { description: m.description as string } : {}),
    ...(status ? { status } : {}),
    ...(level ? { level: level as Level } : {}),
    tags,
    ...(author ? { author } : {}),
    references: strList(m, 'references'),
    falsepositives: strList(m, 'falsepositives', true),
    file,
    line: doc.line,
    doc,
    docIndex,
  };
}

function logsource(m: PlainMap): LogSource {
  const ls = m.logsource;
  if (!isPlainMap(ls)) throw ruleError("'logsource' must be a mapping", ['logsource']);
  const out: LogSource = {};
  for (const k of ['category', 'product', 'service'] as const) {
    const v = ls[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw ruleError(`'logsource.${k}' must be a string`, ['logsource', k]);
    out[k] = v;
  }
  return out;
}

function parseDocument(m: PlainMap, doc: LocatedDocument, file: string, docIndex: number): AnyRule {
  if (m.correlation !== undefined) return parseCorrelation(m, doc, file, docIndex);
  if (m.filter !== undefined && m.detection === undefined) return parseFilter(m, doc, file, docIndex);
  const base = meta(m, doc, file, docIndex, ['title', 'logsource', 'detection']);
  const ls = logsource(m);
  const det = m.detection;
  if (!isPlainMap(det)) throw ruleError("'detection' must be a mapping", ['detection']);
  const cond = det.condition;
  if (cond === undefined || cond === null)
    throw ruleError("missing required field 'detection.condition'", ['detection']);
  let conditions: string[];
  if (typeof cond === 'string') conditions = [cond];
  else if (Array.isArray(cond) && cond.length > 0 && cond.every((c) => typeof c === 'string'))
    conditions = cond as string[];
  else
    throw ruleError("'detection.condition' must be a string or a list of strings", [
      'detection',
      'condition',
    ]);
  if (Object.keys(det).length === 1)
    throw ruleError("'detection' has a condition but no search identifiers", ['detection']);
  return {
    ...base,
    kind: 'detection',
    logsource: ls,
    detection: det,
    conditions,
    fields: strList(m, 'fields'),
  };
}

function countCondition(
  c: Plain,
  path: string[],
  allowField: boolean,
): { cond: CountCondition; field: string[] } {
  if (!isPlainMap(c)) throw ruleError("'condition' must be a mapping such as {gte: 10}", path);
  const cond: CountCondition = {};
  let field: string[] = [];
  const keys = Object.keys(c);
  for (const k of keys) {
    const v = c[k];
    if (k === 'field') {
      if (!allowField)
        throw ruleError(
          "'field' belongs to value_count, value_sum, value_avg and value_percentile conditions",
          [...path, k],
        );
      if (typeof v === 'string') field = [v];
      else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'))
        field = v as string[];
      else throw ruleError("'condition.field' must be a field name or a list of them", [...path, k]);
    } else if (['gt', 'gte', 'lt', 'lte', 'eq', 'neq'].includes(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw ruleError(`condition '${k}' must be a number`, [...path, k]);
      cond[k as keyof CountCondition] = v;
    } else
      throw ruleError(
        `unknown condition operator '${k}' (gt, gte, lt, lte, eq, neq${allowField ? ', field' : ''})`,
        [...path, k],
      );
  }
  if (Object.keys(cond).length === 0)
    throw ruleError("'condition' needs a comparison (gt, gte, lt, lte, eq or neq)", path);
  return { cond, field };
}

function parseCorrelation(m: PlainMap, doc: LocatedDocument, file: string, docIndex: number): AnyRule {
  const base = meta(m, doc, file, docIndex, ['title', 'correlation']);
  const c = m.correlation;
  if (!isPlainMap(c)) throw ruleError("'correlation' must be a mapping", ['correlation']);
  const p = (k: string) => ['correlation', k];
  const type = c.type;
  if (typeof type !== 'string' || !(CORRELATION_TYPES as readonly string[]).includes(type)) {
    throw ruleError(`'correlation.type' must be one of ${CORRELATION_TYPES.join(', ')}`, p('type'));
  }
  const rules = c.rules;
  if (
    !Array.isArray(rules) ||
    rules.length === 0 ||
    !rules.every((r) => typeof r === 'string' && r.length >= 2)
  ) {
    throw ruleError("'correlation.rules' must be a list of rule ids or names", p('rules'));
  }
  if (new Set(rules).size !== rules.length)
    throw ruleError("'correlation.rules' lists a rule twice", p('rules'));
  const ts = c.timespan;
  const tm = typeof ts === 'string' ? TIMESPAN.exec(ts) : null;
  if (!tm)
    throw ruleError("'correlation.timespan' must be a number and s, m, h or d (e.g. 5m)", p('timespan'));
  const timespanMs = Number(tm![1]) * UNIT_MS[tm![2]!]!;
  if (timespanMs <= 0) throw ruleError("'correlation.timespan' must be positive", p('timespan'));
  const gb = c['group-by'];
  if (gb === undefined || gb === null)
    throw ruleError(`'correlation.group-by' is required for ${type}`, p('group-by'));
  if (!Array.isArray(gb) || !gb.every((g) => typeof g === 'string'))
    throw ruleError("'correlation.group-by' must be a list of field names", p('group-by'));
  const valueType =
    type === 'value_count' || type === 'value_sum' || type === 'value_avg' || type === 'value_percentile';
  let condition: CountCondition | null = null;
  let field: string[] = [];
  if (c.condition === undefined || c.condition === null) {
    if (type !== 'temporal' && type !== 'temporal_ordered')
      throw ruleError(`'correlation.condition' is required for ${type}`, p('condition'));
  } else {
    const r = countCondition(c.condition, p('condition'), valueType);
    condition = r.cond;
    field = r.field;
  }
  if (valueType && field.length === 0) throw ruleError(`${type} needs 'condition.field'`, p('condition'));
  const aliases: Record<string, Record<string, string>> = {};
  if (c.aliases !== undefined && c.aliases !== null) {
    if (!isPlainMap(c.aliases)) throw ruleError("'correlation.aliases' must be a mapping", p('aliases'));
    for (const [alias, map] of Object.entries(c.aliases)) {
      if (!isPlainMap(map) || !Object.values(map).every((v) => typeof v === 'string')) {
        throw ruleError(`alias '${alias}' must map rule names to field names`, [
          'correlation',
          'aliases',
          alias,
        ]);
      }
      aliases[alias] = { ...(map as Record<string, string>) };
    }
  }
  const generate = m.generate ?? c.generate;
  if (generate !== undefined && typeof generate !== 'boolean')
    throw ruleError("'generate' must be true or false", ['generate']);
  return {
    ...base,
    kind: 'correlation',
    type: type as CorrelationType,
    rules: rules as string[],
    groupBy: gb as string[],
    timespanMs,
    timespan: ts as string,
    condition,
    field,
    aliases,
    generate: generate === true,
  };
}

function parseFilter(m: PlainMap, doc: LocatedDocument, file: string, docIndex: number): AnyRule {
  const base = meta(m, doc, file, docIndex, ['title', 'logsource', 'filter']);
  const ls = logsource(m);
  const fl = m.filter;
  if (!isPlainMap(fl)) throw ruleError("'filter' must be a mapping", ['filter']);
  let rules: string[] | 'any';
  const r = fl.rules;
  if (typeof r === 'string' && (r === 'any' || r === 'all')) rules = 'any';
  else if (typeof r === 'string') rules = [r];
  else if (Array.isArray(r) && r.length > 0 && r.every((x) => typeof x === 'string')) rules = r as string[];
  else
    throw ruleError("'filter.rules' must list the rule ids or names it applies to (or be 'any')", [
      'filter',
      'rules',
    ]);
  const cond = fl.condition;
  if (typeof cond !== 'string')
    throw ruleError("'filter.condition' is required and must be a string", ['filter', 'condition']);
  const detection = Object.create(null) as PlainMap;
  for (const k of Object.keys(fl)) if (k !== 'rules' && k !== 'condition') detection[k] = fl[k]!;
  if (Object.keys(detection).length === 0) throw ruleError("'filter' needs a selection", ['filter']);
  return { ...base, kind: 'filter', logsource: ls, rules, detection, condition: cond };
}
