import { PalisadeError } from '@palisade/common';
import type { AgentRecord, GroupRecord } from '@palisade/storage';
import type { ApiContext, ApiRoute } from './context.js';
import { type Query, isUuid, rejectUnknown } from './params.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** agentView is the API's JSON for one agent, with its live connection state. */
export function agentView(a: AgentRecord, groups: Map<string, GroupRecord>, ctx: ApiContext): object {
  const c = ctx.sessions.state(a.id);
  return {
    id: a.id,
    hostname: a.host.hostname,
    os: a.host.os,
    os_version: a.host.osVersion,
    kernel: a.host.kernel,
    arch: a.host.arch,
    machine_id: a.host.machineId,
    ip_addresses: a.host.ipAddresses,
    version: a.host.agentVersion,
    group: groups.get(a.groupId)?.name ?? null,
    group_id: a.groupId,
    key_id: a.keyId,
    registered_at: iso(a.registeredAt),
    last_seen_at: iso(a.lastSeenAt),
    status: a.decommissionedAt !== null ? 'decommissioned' : a.revokedAt !== null ? 'revoked' : 'active',
    connection: {
      state: c.state,
      since: iso(c.since),
      remote_address: c.remoteAddress,
      channel: c.channel,
    },
    policy_revision: a.policyRevision,
    capabilities: a.capabilities,
    stats: a.stats,
  };
}

async function groupMap(ctx: ApiContext): Promise<Map<string, GroupRecord>> {
  return new Map((await ctx.storage.listGroups()).map((g) => [g.id, g]));
}

/** AGENT_ROUTES list and show agents. */
export const AGENT_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/agents',
    role: 'viewer',
    async handler(req, ctx) {
      rejectUnknown(req.query as Query, []);
      const groups = await groupMap(ctx);
      const agents = await ctx.storage.listAgents();
      return { agents: agents.map((a) => agentView(a, groups, ctx)) };
    },
  },
  {
    method: 'GET',
    url: '/agents/:id',
    role: 'viewer',
    async handler(req, ctx) {
      const { id } = req.params as { id: string };
      if (!isUuid(id)) throw new PalisadeError('validation_failed', `parameter id: "${id}" is not a UUID`);
      const agent = await ctx.storage.getAgent(id.toLowerCase());
      if (!agent) throw new PalisadeError('not_found', `no agent ${id}`);
      return agentView(agent, await groupMap(ctx), ctx);
    },
  },
];
