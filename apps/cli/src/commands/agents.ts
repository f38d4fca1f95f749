import { type ApiTarget, apiCall } from '../client.js';
import { printJson } from '../output.js';
import { ago, formatTable } from '../table.js';

/** Agent is an agent as the API returns it. */
interface Agent {
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
  capabilities?: { kind: string; active: boolean; source: string; reason: string }[];
}

function telemetry(a: Agent): string {
  const caps = a.capabilities ?? [];
  if (caps.length === 0) return '-';
  return caps.map((c) => (c.active ? c.kind : `!${c.kind}`)).join(',');
}

/** agentsList prints every agent: a table, or the API's JSON with --json. */
export async function agentsList(target: ApiTarget, json: boolean, query = ''): Promise<void> {
  const { agents } = await apiCall<{ agents: Agent[] }>(target, 'GET', `/agents${query}`);
  if (json) return printJson(agents);
  const rows = agents.map((a) => [
    a.id,
    a.hostname,
    `${a.os} ${a.kernel}`,
    a.version,
    a.group,
    a.status === 'active' ? (a.connection?.state ?? 'disconnected') : a.status,
    ago(a.last_seen_at ? Date.parse(a.last_seen_at) : null),
    // Revision it runs / its group's; a star marks agents that are out of date.
    `${a.policy_revision}/${a.group_policy_revision ?? '?'}${a.policy_up_to_date === false ? ' *' : ''}`,
    telemetry(a),
  ]);
  process.stdout.write(
    `${formatTable(['ID', 'HOSTNAME', 'OS', 'VERSION', 'GROUP', 'STATE', 'LAST SEEN', 'POLICY', 'TELEMETRY (! = inactive)'], rows)}\n`,
  );
  for (const a of agents) {
    for (const c of a.capabilities ?? []) {
      if (c.reason)
        process.stdout.write(
          `  ${a.hostname} ${c.kind}${c.active ? ' (partial)' : ' inactive'}: ${c.reason}\n`,
        );
    }
  }
}

/** agentsGet prints one agent as JSON (it has too many facts for a table row). */
export async function agentsGet(target: ApiTarget, id: string): Promise<void> {
  const res = await apiCall<Record<string, unknown>>(target, 'GET', `/agents/${encodeURIComponent(id)}`);
  printJson(res.agent ?? res);
}
