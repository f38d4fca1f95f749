import { type ApiTarget, apiCall } from '../client.js';
import { isoTime, printJson } from '../output.js';
import { ago, formatTable } from '../table.js';

type Agent = Record<string, unknown> & {
  id: string;
  hostname?: string;
  host?: Record<string, string>;
  capabilities?: { kind: string; active: boolean; reason?: string }[];
};

function hostOf(a: Agent): Record<string, string> {
  return (a.host as Record<string, string> | undefined) ?? (a as unknown as Record<string, string>);
}

function telemetry(a: Agent): string {
  const caps = a.capabilities ?? [];
  if (caps.length === 0) return '-';
  return caps.map((c) => (c.active ? c.kind.toLowerCase() : `!${c.kind.toLowerCase()}`)).join(',');
}

/** agentsList prints every agent: a table, or the API's JSON with --json. */
export async function agentsList(target: ApiTarget, json: boolean): Promise<void> {
  const res = await apiCall<{ agents: Agent[] }>(target, 'GET', '/agents');
  if (json) return printJson(res.agents);
  const rows = res.agents.map((a) => {
    const h = hostOf(a);
    const conn = a.connection as { state?: string; connected?: boolean } | undefined;
    const state = conn?.state ?? (conn?.connected ? 'connected' : 'disconnected');
    return [
      a.id,
      h.hostname,
      `${h.os ?? ''} ${h.kernel ?? ''}`.trim(),
      h.agentVersion ?? h.agent_version,
      a.groupName ?? a.group ?? a.groupId,
      state,
      ago(a.lastSeenAt as number),
      telemetry(a),
    ];
  });
  process.stdout.write(
    `${formatTable(['ID', 'HOSTNAME', 'OS', 'VERSION', 'GROUP', 'STATE', 'LAST SEEN', 'TELEMETRY (! = inactive)'], rows)}\n`,
  );
  for (const a of res.agents) {
    for (const c of a.capabilities ?? []) {
      if (!c.active && c.reason) process.stdout.write(`  ${a.id} ${c.kind.toLowerCase()}: ${c.reason}\n`);
    }
  }
}

/** agentsGet prints one agent as JSON (it has too many facts for a table row). */
export async function agentsGet(target: ApiTarget, id: string): Promise<void> {
  const res = await apiCall<Record<string, unknown>>(target, 'GET', `/agents/${encodeURIComponent(id)}`);
  printJson(res.agent ?? res);
}

export { isoTime };
