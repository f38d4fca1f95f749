import { PalisadeError } from '@palisade/common';
import {
  type PlaybookAction,
  type PlaybookActionType,
  type PlaybookMatch,
  type PlaybookRecord,
  SEVERITIES,
  type Severity,
  type Storage,
} from '@palisade/storage';
import { findGroup } from '../fleet/group-ref.js';
import { checkWebhookUrl, type WebhookUrlPolicy } from './webhook-url.js';

/** ACTION_TYPES are the actions a playbook can take, in the order the documentation lists them. */
export const ACTION_TYPES: readonly PlaybookActionType[] = [
  'isolate',
  'kill_process',
  'quarantine_file',
  'webhook',
];

/** MAX_ACTIONS is how many actions one playbook may have. */
export const MAX_ACTIONS = 10;

/** Defaults of a new playbook's limits. */
export const DEFAULT_MAX_ISOLATIONS_PER_HOUR = 3;
export const DEFAULT_MAX_RUNS_PER_HOUR = 60;

/** PlaybookSpec is a playbook as a person writes it (the API's body, snake_case). */
export interface PlaybookSpec {
  name?: unknown;
  description?: unknown;
  enabled?: unknown;
  dry_run?: unknown;
  match?: unknown;
  actions?: unknown;
  max_isolations_per_hour?: unknown;
  max_runs_per_hour?: unknown;
}

/** CheckedSpec is a spec that passed every check, with groups resolved to ids. */
export type CheckedSpec = Pick<
  PlaybookRecord,
  | 'name'
  | 'description'
  | 'enabled'
  | 'dryRun'
  | 'match'
  | 'actions'
  | 'maxIsolationsPerHour'
  | 'maxRunsPerHour'
>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TAG = /^[a-z0-9_.-]{1,128}$/;

function bad(field: string, msg: string): PalisadeError {
  return new PalisadeError('validation_failed', `field ${field}: ${msg}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw bad(field, `unknown field "${k}" (allowed: ${allowed.join(', ')})`);
  }
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw bad(field, `${JSON.stringify(v)} is not true or false`);
  return v;
}

function count(v: unknown, field: string, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max)
    throw bad(field, `${JSON.stringify(v)} is not a whole number from 0 to ${max}`);
  return v as number;
}

function strings(v: unknown, field: string, check: (s: string, f: string) => string, max = 100): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(field, 'must be a list');
  if (v.length > max) throw bad(field, `at most ${max} entries, got ${v.length}`);
  const out = v.map((s, i) => {
    if (typeof s !== 'string' || s === '')
      throw bad(`${field}[${i}]`, `${JSON.stringify(s)} is not a non-empty string`);
    return check(s, `${field}[${i}]`);
  });
  return [...new Set(out)];
}

/** checkPlaybookName validates a playbook name (like a group name: letters, digits, '.', '_', '-'; not a UUID). */
export function checkPlaybookName(v: unknown): string {
  if (typeof v !== 'string' || !NAME.test(v) || UUID.test(v)) {
    throw bad(
      'name',
      `${JSON.stringify(v)} is not a playbook name (1-63 letters, digits, '.', '_', '-'; starting with a letter or digit; not a UUID)`,
    );
  }
  return v;
}

function checkAction(v: unknown, field: string, urls: WebhookUrlPolicy): PlaybookAction {
  if (!isObject(v)) throw bad(field, 'must be an object such as {"type": "isolate"}');
  const type = v.type;
  if (typeof type !== 'string' || !(ACTION_TYPES as readonly string[]).includes(type)) {
    throw bad(`${field}.type`, `${JSON.stringify(type)} is not an action (${ACTION_TYPES.join(', ')})`);
  }
  switch (type as PlaybookActionType) {
    case 'isolate':
      onlyKeys(v, field, ['type']);
      return { type: 'isolate' };
    case 'kill_process':
      onlyKeys(v, field, ['type', 'tree']);
      return { type: 'kill_process', tree: bool(v.tree, `${field}.tree`, false) };
    case 'quarantine_file':
      onlyKeys(v, field, ['type']);
      return { type: 'quarantine_file' };
    case 'webhook': {
      onlyKeys(v, field, ['type', 'url']);
      const why = checkWebhookUrl(v.url, urls);
      if (why) throw bad(`${field}.url`, why);
      return { type: 'webhook', url: String(v.url) };
    }
  }
}

async function checkMatch(storage: Storage, v: unknown): Promise<PlaybookMatch> {
  if (v === undefined) v = {};
  if (!isObject(v)) throw bad('match', 'must be an object');
  onlyKeys(v, 'match', ['rule_ids', 'tags', 'min_severity', 'groups', 'hosts']);
  const minSeverity = v.min_severity ?? 'informational';
  if (typeof minSeverity !== 'string' || !(SEVERITIES as readonly string[]).includes(minSeverity)) {
    throw bad(
      'match.min_severity',
      `${JSON.stringify(minSeverity)} is not a severity (${SEVERITIES.join(', ')})`,
    );
  }
  const ruleIds = strings(v.rule_ids, 'match.rule_ids', (s, f) => {
    if (s.length > 256 || /[\s\p{Cc}]/u.test(s)) throw bad(f, `${JSON.stringify(s)} is not a rule id`);
    return s;
  });
  const tags = strings(v.tags, 'match.tags', (s, f) => {
    const t = s.toLowerCase();
    if (!TAG.test(t)) throw bad(f, `${JSON.stringify(s)} is not a tag such as attack.t1059`);
    return t;
  });
  const groupIds: string[] = [];
  for (const [i, ref] of strings(v.groups, 'match.groups', (s) => s).entries()) {
    try {
      groupIds.push((await findGroup(storage, ref, `field match.groups[${i}]`)).id);
    } catch (err) {
      if (err instanceof PalisadeError && err.code === 'not_found')
        throw new PalisadeError('validation_failed', err.message);
      throw err;
    }
  }
  const hosts = strings(v.hosts, 'match.hosts', (s, f) => {
    if (s.length > 253 || /[\s\p{Cc}/]/u.test(s))
      throw bad(f, `${JSON.stringify(s)} is not a host name or agent id`);
    return s.toLowerCase();
  });
  return { ruleIds, tags, minSeverity: minSeverity as Severity, groupIds: [...new Set(groupIds)], hosts };
}

/**
 * checkSpec validates a playbook as written and returns it checked, or throws a
 * `validation_failed` PalisadeError naming the first field that is wrong (an unknown action, a
 * webhook URL that is not https, an unknown group, ...). A playbook that acts on hosts (isolate,
 * kill_process, quarantine_file) must name the rules or tags it answers: one matching every alert
 * could isolate the whole fleet.
 */
export async function checkSpec(
  storage: Storage,
  s: PlaybookSpec,
  urls: WebhookUrlPolicy,
): Promise<CheckedSpec> {
  if (!isObject(s)) throw new PalisadeError('validation_failed', 'a playbook must be a JSON object');
  onlyKeys(s, 'playbook', [
    'name',
    'description',
    'enabled',
    'dry_run',
    'match',
    'actions',
    'max_isolations_per_hour',
    'max_runs_per_hour',
  ]);
  const name = checkPlaybookName(s.name);
  const description = s.description === undefined ? '' : s.description;
  if (typeof description !== 'string' || description.length > 1000)
    throw bad('description', 'must be text of at most 1000 characters');
  if (!Array.isArray(s.actions) || s.actions.length === 0)
    throw bad('actions', `must list 1-${MAX_ACTIONS} actions (${ACTION_TYPES.join(', ')})`);
  if (s.actions.length > MAX_ACTIONS)
    throw bad('actions', `at most ${MAX_ACTIONS} actions, got ${s.actions.length}`);
  const actions = s.actions.map((a, i) => checkAction(a, `actions[${i}]`, urls));
  for (const t of ['isolate', 'kill_process', 'quarantine_file'] as const) {
    if (actions.filter((a) => a.type === t).length > 1)
      throw bad('actions', `"${t}" is listed more than once`);
  }
  const match = await checkMatch(storage, s.match);
  const acts = actions.some((a) => a.type !== 'webhook');
  if (acts && match.ruleIds.length === 0 && match.tags.length === 0) {
    throw bad(
      'match',
      'a playbook that isolates, kills or quarantines must name the rule_ids or tags it answers (one matching every alert could act on the whole fleet)',
    );
  }
  return {
    name,
    description,
    enabled: bool(s.enabled, 'enabled', true),
    dryRun: bool(s.dry_run, 'dry_run', false),
    match,
    actions,
    maxIsolationsPerHour: count(
      s.max_isolations_per_hour,
      'max_isolations_per_hour',
      DEFAULT_MAX_ISOLATIONS_PER_HOUR,
      1000,
    ),
    maxRunsPerHour: count(s.max_runs_per_hour, 'max_runs_per_hour', DEFAULT_MAX_RUNS_PER_HOUR, 100_000),
  };
}
