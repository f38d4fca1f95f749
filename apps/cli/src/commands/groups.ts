import { type ApiTarget, CliError, apiCall } from '../client.js';
import { printJson } from '../output.js';
import { formatTable } from '../table.js';
import { safe } from '../terminal-text.js';

/** Group is a group as the API returns it. */
interface Group {
  id: string;
  name: string;
  policy: {
    revision: number;
    tier: string;
    channel: string;
    maintenance_window: 'always' | { days: number[]; start: string; end: string; time_zone: string };
  };
  agent_count: number;
  out_of_date_count: number;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function windowText(w: Group['policy']['maintenance_window']): string {
  if (w === 'always') return 'always';
  return `${w.days.map((d) => DAYS[d]).join(',')} ${w.start}-${w.end} ${w.time_zone}`;
}

const enc = encodeURIComponent;

/** groupsList prints every group with its policy and agent counts. */
export async function groupsList(target: ApiTarget, json: boolean): Promise<void> {
  const { groups } = await apiCall<{ groups: Group[] }>(target, 'GET', '/groups');
  if (json) return printJson(groups);
  const rows = groups.map((g) => [
    g.name,
    g.id,
    g.policy.tier,
    g.policy.channel,
    windowText(g.policy.maintenance_window),
    g.policy.revision,
    g.agent_count,
    g.out_of_date_count,
  ]);
  process.stdout.write(
    `${formatTable(['NAME', 'ID', 'TIER', 'CHANNEL', 'MAINTENANCE', 'REV', 'AGENTS', 'OUT OF DATE'], rows)}\n`,
  );
}

/** PolicyFlags are the command-line form of a policy change. */
export interface PolicyFlags {
  tier?: string | undefined;
  channel?: string | undefined;
  window?: string | undefined;
  days?: string | undefined;
  start?: string | undefined;
  end?: string | undefined;
  tz?: string | undefined;
}

/**
 * policyBody turns flags into the API's policy change: --window always, or --days mon,wed
 * --start 22:00 --end 04:00 --tz Europe/Berlin (all four together). The server validates values.
 */
export function policyBody(f: PolicyFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (f.tier !== undefined) body.tier = f.tier;
  if (f.channel !== undefined) body.channel = f.channel;
  const parts = [f.days, f.start, f.end, f.tz];
  if (f.window !== undefined) {
    if (f.window !== 'always')
      throw new CliError('--window takes only "always"; give a window with --days --start --end --tz', 2);
    if (parts.some((p) => p !== undefined))
      throw new CliError('--window always cannot be combined with --days/--start/--end/--tz', 2);
    body.maintenance_window = 'always';
  } else if (parts.some((p) => p !== undefined)) {
    if (parts.some((p) => p === undefined))
      throw new CliError('a maintenance window needs all of --days, --start, --end and --tz', 2);
    body.maintenance_window = {
      days: f.days!.split(',').map((d) => (/^\d+$/.test(d.trim()) ? Number(d) : d.trim())),
      start: f.start,
      end: f.end,
      time_zone: f.tz,
    };
  }
  return body;
}

/** groupsCreate creates a group and prints the secret of its first registration key (shown once). */
export async function groupsCreate(
  target: ApiTarget,
  name: string,
  f: PolicyFlags,
  json: boolean,
): Promise<void> {
  const policy = policyBody(f);
  const res = await apiCall<Group & { registration_key: { key: { id: string }; secret: string } }>(
    target,
    'POST',
    '/groups',
    { name, ...(Object.keys(policy).length ? { policy } : {}) },
  );
  if (json) return printJson(res);
  process.stdout.write(
    safe`created group ${res.name} (${res.id})\nregistration key ${res.registration_key.key.id}\n` +
      safe`secret (shown once, store it now): ${res.registration_key.secret}\n`,
  );
}

/** groupsRename renames a group. */
export async function groupsRename(
  target: ApiTarget,
  ref: string,
  name: string,
  json: boolean,
): Promise<void> {
  const res = await apiCall<Group>(target, 'PATCH', `/groups/${enc(ref)}`, { name });
  if (json) return printJson(res);
  process.stdout.write(safe`renamed group ${ref} to ${res.name}\n`);
}

/** groupsDelete deletes a group, moving its agents first when `moveTo` is given. */
export async function groupsDelete(
  target: ApiTarget,
  ref: string,
  moveTo: string | undefined,
  json: boolean,
): Promise<void> {
  const q = moveTo ? `?move_agents_to=${enc(moveTo)}` : '';
  const res = await apiCall<{ moved_agents: number }>(target, 'DELETE', `/groups/${enc(ref)}${q}`);
  if (json) return printJson(res);
  process.stdout.write(
    safe`deleted group ${ref}${moveTo ? ` (moved ${res.moved_agents} agent(s) to ${moveTo})` : ''}\n`,
  );
}

/** groupsSetPolicy changes a group's policy; connected agents receive it at once. */
export async function groupsSetPolicy(
  target: ApiTarget,
  ref: string,
  f: PolicyFlags,
  json: boolean,
): Promise<void> {
  const body = policyBody(f);
  if (Object.keys(body).length === 0) {
    throw new CliError(
      'nothing to change: give --tier, --channel, --window always or --days/--start/--end/--tz',
      2,
    );
  }
  const res = await apiCall<Group & { pushed_to: number }>(
    target,
    'PATCH',
    `/groups/${enc(ref)}/policy`,
    body,
  );
  if (json) return printJson(res);
  process.stdout.write(
    safe`group ${res.name}: policy revision ${res.policy.revision} (${res.policy.tier}, ${res.policy.channel}, ` +
      safe`${windowText(res.policy.maintenance_window)}); pushed to ${res.pushed_to} connected agent(s)\n`,
  );
}
