import { type ApiTarget, apiCall } from '../client.js';
import { printJson } from '../output.js';
import { ago, formatTable } from '../table.js';
import { safe } from '../terminal-text.js';
import { type Isolation, isolationCell } from './response.js';

/** Agent is an agent as the API returns it. */
export interface Agent {
  id: string;
  hostname: string;
  os: string;
  kernel: string;
  version: string;
  group: string;
  status: string;
  last_seen_at: string | null;
  policy_revision: number;
  group_policy_revision?: number | null;
  policy_up_to_date?: boolean;
  connection?: { state: string; channel?: string };
  revocation_reason?: string | null;
  certificate?: {
    not_after: string | null;
    days_left: number | null;
    warning: string | null;
    renewal_pending: boolean;
  };
  capabilities?: { kind: string; active: boolean; source: string; reason: string }[];
  isolation?: Isolation;
  health?: {
    channel: string | null;
    reported_channel?: string | null;
    last_ack_at: string | null;
    spool_depth: number | null;
    oldest_unsent_at: string | null;
    drops: { ring: number; spool: number; spool_by_class: Record<string, number>; corrupt_records: number };
  };
}

/** spoolCell is the agent's unsent backlog: events waiting and how old the oldest is. */
export function spoolCell(a: Agent): string {
  const h = a.health;
  if (!h || h.spool_depth === null) return '-';
  if (h.spool_depth === 0) return '0';
  const oldest = h.oldest_unsent_at ? Date.parse(h.oldest_unsent_at) : null;
  return `${h.spool_depth} (oldest ${ago(oldest).replace(' ago', '')})`;
}

/** dropsCell is events lost before delivery: spool drops by kind, ring drops, corrupt records. */
export function dropsCell(a: Agent): string {
  const d = a.health?.drops;
  if (!d || d.spool + d.ring + d.corrupt_records === 0) return '0';
  const parts: string[] = [];
  if (d.spool) {
    const kinds = Object.entries(d.spool_by_class).map(([k, n]) => `${k} ${n}`);
    parts.push(`spool ${d.spool}${kinds.length ? ` (${kinds.join(', ')})` : ''}`);
  }
  if (d.ring) parts.push(`ring ${d.ring}`);
  if (d.corrupt_records) parts.push(`corrupt ${d.corrupt_records}`);
  return parts.join('; ');
}

function telemetry(a: Agent): string {
  const caps = a.capabilities ?? [];
  if (caps.length === 0) return '-';
  return caps.map((c) => (c.active ? c.kind : `!${c.kind}`)).join(',');
}

/** certCell is the agent certificate's remaining life, marked when it is within its warning period. */
export function certCell(a: Agent): string {
  const c = a.certificate;
  if (!c || c.days_left === null) return '-';
  const left = c.days_left < 0 ? 'expired' : `${c.days_left}d`;
  return `${left}${c.renewal_pending ? ' (renewing)' : ''}${c.warning ? ' !' : ''}`;
}

/** certificateWarnings are the lines `agents list` prints under its table: server, CAs, then agents. */
export function certificateWarnings(agents: Agent[], health: { warnings?: string[] } | undefined): string[] {
  const out = (health?.warnings ?? [])
    .filter((w) => !/agent certificates? expire/.test(w))
    .map((w) => `warning: ${w}`);
  for (const a of agents)
    if (a.certificate?.warning) out.push(`warning: ${a.hostname} (${a.id}): ${a.certificate.warning}`);
  return out;
}

/** agentsList prints every agent: a table, or the API's JSON with --json. */
export async function agentsList(target: ApiTarget, json: boolean, query = ''): Promise<void> {
  const { agents } = await apiCall<{ agents: Agent[] }>(target, 'GET', `/agents${query}`);
  if (json) return printJson(agents);
  // The server's own certificate and its CAs (health is public; a failure only loses the warnings).
  const health = await apiCall<{ warnings?: string[] }>(target, 'GET', '/health').catch(() => undefined);
  const rows = agents.map((a) => [
    a.id,
    a.hostname,
    `${a.os} ${a.kernel}`,
    a.version,
    a.group,
    a.status === 'active' ? (a.connection?.state ?? 'disconnected') : a.status,
    // A standby-only process has its own sessions: fall back to the channel of the last report.
    a.connection?.channel ?? (a.health?.reported_channel ? `(${a.health.reported_channel})` : '-'),
    ago(a.last_seen_at ? Date.parse(a.last_seen_at) : null),
    a.health?.last_ack_at ? ago(Date.parse(a.health.last_ack_at)) : '-',
    spoolCell(a),
    dropsCell(a),
    // Revision it runs / its group's; a star marks agents that are out of date.
    `${a.policy_revision}/${a.group_policy_revision ?? '?'}${a.policy_up_to_date === false ? ' *' : ''}`,
    certCell(a),
    telemetry(a),
    isolationCell(a.isolation),
  ]);
  process.stdout.write(
    `${formatTable(['ID', 'HOSTNAME', 'OS', 'VERSION', 'GROUP', 'STATE', 'CHANNEL', 'LAST SEEN', 'LAST ACK', 'SPOOL', 'DROPS', 'POLICY', 'CERT', 'TELEMETRY (! = inactive)', 'ISOLATION'], rows)}\n`,
  );
  for (const a of agents) {
    if (a.status === 'revoked' && a.revocation_reason)
      process.stdout.write(safe`  ${a.hostname} revoked: ${a.revocation_reason}\n`);
    const i = a.isolation;
    if (i && ['reverted', 'failed', 'unsupported'].includes(i.status) && i.actual?.reason)
      process.stdout.write(safe`  ${a.hostname} isolation ${i.status}: ${i.actual.reason}\n`);
  }
  for (const a of agents) {
    for (const c of a.capabilities ?? []) {
      if (c.reason)
        process.stdout.write(
          safe`  ${a.hostname} ${c.kind}${c.active ? ' (partial)' : ' inactive'}: ${c.reason}\n`,
        );
    }
  }
  for (const w of certificateWarnings(agents, health)) process.stdout.write(`${w}\n`);
}

/** agentsGet prints one agent as JSON (it has too many facts for a table row). */
export async function agentsGet(target: ApiTarget, id: string): Promise<void> {
  const res = await apiCall<Record<string, unknown>>(target, 'GET', `/agents/${encodeURIComponent(id)}`);
  printJson(res.agent ?? res);
}
