import { readFileSync } from 'node:fs';
import { type ApiTarget, CliError, apiCall } from '../client.js';
import { printJson } from '../output.js';
import { ago, formatTable } from '../table.js';
import { safe } from '../terminal-text.js';

const enc = encodeURIComponent;

/** Playbook is a playbook as the API returns it. */
interface Playbook {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  dry_run: boolean;
  match: { rule_ids: string[]; tags: string[]; min_severity: string; groups: string[]; hosts: string[] };
  actions: { type: string; url?: string; tree?: boolean }[];
  max_isolations_per_hour: number;
  max_runs_per_hour: number;
  created_at: string;
  created_by: string;
}

/** Run is a playbook run as the API returns it. */
interface Run {
  id: string;
  playbook_name: string;
  alert_id: string;
  agent_id: string;
  rule_id: string;
  at: string;
  dry_run: boolean;
  steps: { type: string; status: string; detail: string; command_id: string | null; attempts: number }[];
}

/** CreateFlags are the flags of `playbooks create`. */
export interface CreateFlags {
  file?: string | undefined;
  description?: string | undefined;
  rule?: string[] | undefined;
  tag?: string[] | undefined;
  'min-severity'?: string | undefined;
  group?: string[] | undefined;
  host?: string[] | undefined;
  isolate?: boolean | undefined;
  'kill-process'?: boolean | undefined;
  tree?: boolean | undefined;
  'quarantine-file'?: boolean | undefined;
  webhook?: string[] | undefined;
  'dry-run'?: boolean | undefined;
  disabled?: boolean | undefined;
  'max-isolations-per-hour'?: string | undefined;
  'max-runs-per-hour'?: string | undefined;
}

function whole(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,6}$/.test(v)) throw new CliError(`${flag} must be a whole number`, 2);
  return Number(v);
}

/**
 * createBody builds the API body of `playbooks create NAME` from flags, or reads it from
 * `--file` (JSON, the API's body; NAME, when given, replaces its name). The server checks it.
 */
export function createBody(name: string | undefined, f: CreateFlags): Record<string, unknown> {
  if (f.file) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(f.file === '-' ? 0 : f.file, 'utf8'));
    } catch (err) {
      throw new CliError(`--file ${f.file}: ${(err as Error).message}`, 2);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
      throw new CliError(`--file ${f.file}: must hold a JSON object (a playbook)`, 2);
    return { ...doc, ...(name ? { name } : {}) };
  }
  if (!name) throw new CliError('playbooks create needs a NAME (or --file FILE.json)', 2);
  const actions: Record<string, unknown>[] = [];
  if (f.isolate) actions.push({ type: 'isolate' });
  if (f['kill-process']) actions.push({ type: 'kill_process', ...(f.tree ? { tree: true } : {}) });
  else if (f.tree) throw new CliError('--tree goes with --kill-process', 2);
  if (f['quarantine-file']) actions.push({ type: 'quarantine_file' });
  for (const url of f.webhook ?? []) actions.push({ type: 'webhook', url });
  if (actions.length === 0)
    throw new CliError(
      'a playbook needs an action: --isolate, --kill-process, --quarantine-file or --webhook URL',
      2,
    );
  const match = {
    ...(f.rule?.length ? { rule_ids: f.rule } : {}),
    ...(f.tag?.length ? { tags: f.tag } : {}),
    ...(f['min-severity'] ? { min_severity: f['min-severity'] } : {}),
    ...(f.group?.length ? { groups: f.group } : {}),
    ...(f.host?.length ? { hosts: f.host } : {}),
  };
  const maxIso = whole(f['max-isolations-per-hour'], '--max-isolations-per-hour');
  const maxRuns = whole(f['max-runs-per-hour'], '--max-runs-per-hour');
  return {
    name,
    ...(f.description !== undefined ? { description: f.description } : {}),
    match,
    actions,
    ...(f['dry-run'] ? { dry_run: true } : {}),
    ...(f.disabled ? { enabled: false } : {}),
    ...(maxIso !== undefined ? { max_isolations_per_hour: maxIso } : {}),
    ...(maxRuns !== undefined ? { max_runs_per_hour: maxRuns } : {}),
  };
}

function matchText(m: Playbook['match']): string {
  const parts = [
    m.rule_ids.length ? `rules ${m.rule_ids.join(',')}` : '',
    m.tags.length ? `tags ${m.tags.join(',')}` : '',
    m.min_severity !== 'informational' ? `>= ${m.min_severity}` : '',
    m.groups.length ? `groups ${m.groups.length}` : '',
    m.hosts.length ? `hosts ${m.hosts.join(',')}` : '',
  ].filter(Boolean);
  return parts.join('; ') || 'every alert';
}

function actionsText(p: Playbook): string {
  return p.actions
    .map((a) => (a.type === 'webhook' ? `webhook ${a.url ? new URL(a.url).host : ''}` : a.type))
    .join(', ');
}

function state(p: Playbook): string {
  return !p.enabled ? 'disabled' : p.dry_run ? 'dry run' : 'enabled';
}

/** playbooksCreate makes a playbook and shows its webhook secret (once). */
export async function playbooksCreate(
  target: ApiTarget,
  body: Record<string, unknown>,
  json: boolean,
): Promise<void> {
  const res = await apiCall<{ playbook: Playbook; webhook_secret: string | null }>(
    target,
    'POST',
    '/playbooks',
    body,
  );
  if (json) return printJson(res);
  const p = res.playbook;
  process.stdout.write(
    safe`playbook ${p.name} (${p.id}) created, ${state(p)}: ${matchText(p.match)} -> ${actionsText(p)}\n`,
  );
  if (res.webhook_secret) {
    process.stdout.write(
      `webhook signing secret (shown once; receivers check X-Palisade-Signature with it, docs/response.md):\n  ${res.webhook_secret}\n`,
    );
  }
}

/** playbooksList prints every playbook. */
export async function playbooksList(target: ApiTarget, json: boolean): Promise<void> {
  const { playbooks } = await apiCall<{ playbooks: Playbook[] }>(target, 'GET', '/playbooks');
  if (json) return printJson(playbooks);
  const rows = playbooks.map((p) => [
    p.name,
    p.id,
    state(p),
    matchText(p.match),
    actionsText(p),
    `${p.max_isolations_per_hour}/h`,
    `${p.max_runs_per_hour}/h`,
  ]);
  process.stdout.write(
    `${formatTable(['NAME', 'ID', 'STATE', 'MATCH', 'ACTIONS', 'ISOLATIONS', 'RUNS'], rows)}\n`,
  );
}

/** playbooksShow prints one playbook as JSON and, for people, its last runs. */
export async function playbooksShow(target: ApiTarget, ref: string, json: boolean): Promise<void> {
  const { playbook } = await apiCall<{ playbook: Playbook }>(target, 'GET', `/playbooks/${enc(ref)}`);
  if (json) return printJson(playbook);
  printJson(playbook);
  const { runs } = await apiCall<{ runs: Run[] }>(target, 'GET', `/playbooks/${enc(ref)}/runs?limit=10`);
  process.stdout.write(`\nlast runs:\n${runsTable(runs)}\n`);
}

function runsTable(runs: Run[]): string {
  const rows = runs.map((r) => [
    r.id,
    ago(Date.parse(r.at)),
    r.playbook_name,
    r.alert_id,
    r.agent_id,
    r.dry_run ? 'dry run' : '',
    r.steps
      .map((s) => `${s.type} ${s.status}${s.detail && s.status !== 'issued' ? ` (${s.detail})` : ''}`)
      .join('; '),
  ]);
  return formatTable(['RUN', 'WHEN', 'PLAYBOOK', 'ALERT', 'AGENT', 'MODE', 'STEPS'], rows);
}

/** playbooksRuns prints runs of one playbook, or of one alert. */
export async function playbooksRuns(
  target: ApiTarget,
  ref: string | undefined,
  alertId: string | undefined,
  json: boolean,
): Promise<void> {
  if (!ref && !alertId) throw new CliError('playbooks runs needs a playbook NAME|ID or --alert ID', 2);
  const path = ref ? `/playbooks/${enc(ref)}/runs` : `/playbook-runs?alert_id=${enc(alertId!)}`;
  const { runs } = await apiCall<{ runs: Run[] }>(target, 'GET', path);
  if (json) return printJson(runs);
  process.stdout.write(`${runsTable(runs)}\n`);
}

/** playbooksSet enables or disables a playbook (enable --dry-run / --live switches the mode too). */
export async function playbooksSet(
  target: ApiTarget,
  ref: string,
  enable: boolean,
  mode: { dryRun?: boolean | undefined; live?: boolean | undefined },
  json: boolean,
): Promise<void> {
  if (mode.dryRun && mode.live) throw new CliError('--dry-run and --live exclude each other', 2);
  if (!enable && (mode.dryRun || mode.live)) throw new CliError('--dry-run and --live go with enable', 2);
  const body = mode.dryRun ? { dry_run: true } : mode.live ? { dry_run: false } : {};
  const { playbook } = await apiCall<{ playbook: Playbook }>(
    target,
    'POST',
    `/playbooks/${enc(ref)}/${enable ? 'enable' : 'disable'}`,
    body,
  );
  if (json) return printJson(playbook);
  process.stdout.write(safe`playbook ${playbook.name} is ${state(playbook)}\n`);
}

/** playbooksDelete deletes a playbook (its runs stay). */
export async function playbooksDelete(target: ApiTarget, ref: string, json: boolean): Promise<void> {
  const { deleted } = await apiCall<{ deleted: Playbook }>(target, 'DELETE', `/playbooks/${enc(ref)}`);
  if (json) return printJson(deleted);
  process.stdout.write(safe`playbook ${deleted.name} deleted (its runs stay)\n`);
}
