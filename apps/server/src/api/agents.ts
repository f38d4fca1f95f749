import { PalisadeError } from '@palisade/common';
import type { AgentRecord, GroupRecord, IsolationRecord } from '@palisade/storage';
import { isolationView } from '../response/isolation-view.js';
import { fleetLock } from '../fleet/fleet-lock.js';
import { findGroup } from '../fleet/group-ref.js';
import { pushPolicy } from '../fleet/policy-push.js';
import { catchUpRevision } from '../fleet/revision.js';
import { agentCertificateView } from '../fleet/certificate-health.js';
import { agentHealth } from '../telemetry/agent-health.js';
import { CLOSE_CREDENTIAL_REFUSED } from '../telemetry/session-revalidation.js';
import type { ApiContext, ApiRoute } from './context.js';
import { groupRef, idParams, limit, NO_BODY, NO_QUERY, object, oneOf, optionalBody, text } from './schema.js';
import { auditRequest } from './route-guard.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** agentStatus is an agent's lifecycle state. */
function agentStatus(a: AgentRecord): 'decommissioned' | 'revoked' | 'active' {
  return a.decommissionedAt !== null ? 'decommissioned' : a.revokedAt !== null ? 'revoked' : 'active';
}

/** An agent not connected and not seen for this long is stale (it may be gone for good). */
export const STALE_AFTER_MS = 24 * 60 * 60_000;

/** presence is online (connected now), offline (seen within STALE_AFTER_MS) or stale. */
export function presence(a: AgentRecord, connected: boolean, now: number): 'online' | 'offline' | 'stale' {
  if (connected) return 'online';
  return a.lastSeenAt !== null && now - a.lastSeenAt < STALE_AFTER_MS ? 'offline' : 'stale';
}

const SORTS = ['hostname', 'last_seen', 'version', 'group', 'registered'] as const;
type Sort = (typeof SORTS)[number];

function sortKey(a: AgentRecord, by: Sort, groups: Map<string, GroupRecord>): string | number {
  switch (by) {
    case 'hostname':
      return a.host.hostname.toLowerCase();
    case 'last_seen':
      return a.lastSeenAt ?? 0;
    case 'version':
      return a.host.agentVersion;
    case 'group':
      return groups.get(a.groupId)?.name ?? '';
    case 'registered':
      return a.registeredAt;
  }
}

/**
 * agentView is the API's JSON for one agent, with its live connection state, the policy revision
 * it runs against its group's current one, and the other registrations of the same machine
 * (a reinstalled host registers again with the same machine id).
 */
export function agentView(
  a: AgentRecord,
  groups: Map<string, GroupRecord>,
  ctx: ApiContext,
  sameMachine: AgentRecord[] = [],
  isolation?: IsolationRecord,
): object {
  const c = ctx.sessions.state(a.id);
  const group = groups.get(a.groupId);
  const others = sameMachine.filter((o) => o.id !== a.id);
  const later = others.filter(
    (o) => o.registeredAt > a.registeredAt || (o.registeredAt === a.registeredAt && o.id > a.id),
  );
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
    group: group?.name ?? null,
    group_id: a.groupId,
    key_id: a.keyId,
    registered_at: iso(a.registeredAt),
    last_seen_at: iso(a.lastSeenAt),
    decommissioned_at: iso(a.decommissionedAt),
    revoked_at: iso(a.revokedAt),
    revocation_reason: a.revocationReason,
    status: agentStatus(a),
    certificate: agentCertificateView(a, ctx.clock.now()),
    connection: {
      state: c.state,
      since: iso(c.since),
      remote_address: c.remoteAddress,
      channel: c.channel,
    },
    policy_revision: a.policyRevision,
    group_policy_revision: group?.policy.revision ?? null,
    policy_up_to_date: group !== undefined && a.policyRevision === group.policy.revision,
    previous_agent_ids: others.filter((o) => !later.includes(o)).map((o) => o.id),
    superseded_by: later[0]?.id ?? null,
    capabilities: a.capabilities,
    stats: a.stats,
    health: agentHealth(a, c, ctx.clock.now()),
    presence: presence(a, c.state === 'connected', ctx.clock.now()),
    isolation: isolationView(isolation, c, a.lastSeenAt, ctx.clock.now()),
  };
}

async function groupMap(ctx: ApiContext): Promise<Map<string, GroupRecord>> {
  return new Map((await ctx.storage.listGroups()).map((g) => [g.id, g]));
}

function byMachine(agents: AgentRecord[]): Map<string, AgentRecord[]> {
  const m = new Map<string, AgentRecord[]>();
  for (const a of agents) {
    const list = m.get(a.host.machineId) ?? [];
    list.push(a);
    m.set(a.host.machineId, list);
  }
  return m;
}

async function agentById(ctx: ApiContext, id: string): Promise<AgentRecord> {
  const agent = await ctx.storage.getAgent(id.toLowerCase());
  if (!agent) throw new PalisadeError('not_found', `no agent ${id}`);
  return agent;
}

async function viewOne(ctx: ApiContext, id: string): Promise<object> {
  const a = (await ctx.storage.getAgent(id))!;
  return agentView(
    a,
    await groupMap(ctx),
    ctx,
    await ctx.storage.findAgentsByMachineId(a.host.machineId),
    await ctx.storage.getIsolation(id),
  );
}

const STATUSES = ['active', 'revoked', 'decommissioned'] as const;

type Id = { id: string };

/** AGENT_ROUTES list, show, move, decommission and revoke agents. */
export const AGENT_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/agents',
    schema: {
      summary:
        'List agents, with their connection, policy revision and health; filter, search, sort and page (limit, offset)',
      querystring: object({
        group: groupRef,
        status: oneOf(STATUSES),
        out_of_date: { type: 'boolean', description: 'true or false' },
        presence: oneOf(['online', 'offline', 'stale']),
        isolated: { type: 'boolean', description: 'true or false (desired isolation)' },
        version: text(64, 'an agent version'),
        search: text(128, 'text to find in host names, ids and addresses'),
        sort: oneOf(SORTS),
        order: oneOf(['asc', 'desc']),
        limit,
        offset: { type: 'integer', minimum: 0, maximum: 1_000_000, description: 'a row offset from 0' },
      }),
    },
    async handler(req, ctx) {
      const q = req.query as {
        group?: string;
        status?: string;
        out_of_date?: boolean;
        presence?: string;
        isolated?: boolean;
        version?: string;
        search?: string;
        sort?: Sort;
        order?: 'asc' | 'desc';
        limit?: number;
        offset?: number;
      };
      const group =
        q.group === undefined ? undefined : await findGroup(ctx.storage, q.group, 'parameter group');
      const { status, out_of_date: outdated } = q;
      const groups = await groupMap(ctx);
      const all = await ctx.storage.listAgents();
      const machines = byMachine(all);
      const isolation = new Map((await ctx.storage.listIsolation()).map((r) => [r.agentId, r]));
      const now = ctx.clock.now();
      const needle = q.search?.toLowerCase();
      const agents = all.filter(
        (a) =>
          (group === undefined || a.groupId === group.id) &&
          (status === undefined || agentStatus(a) === status) &&
          (outdated === undefined ||
            (a.policyRevision !== groups.get(a.groupId)?.policy.revision) === outdated) &&
          (q.presence === undefined ||
            presence(a, ctx.sessions.state(a.id).state === 'connected', now) === q.presence) &&
          (q.isolated === undefined || (isolation.get(a.id)?.desired.isolated ?? false) === q.isolated) &&
          (q.version === undefined || a.host.agentVersion === q.version) &&
          (needle === undefined ||
            a.host.hostname.toLowerCase().includes(needle) ||
            a.id.includes(needle) ||
            a.host.ipAddresses.some((ip) => ip.includes(needle))),
      );
      if (q.sort) {
        const dir = q.order === 'desc' ? -1 : 1;
        const by = q.sort;
        agents.sort((x, y) => {
          const kx = sortKey(x, by, groups);
          const ky = sortKey(y, by, groups);
          return (kx < ky ? -1 : kx > ky ? 1 : x.id < y.id ? -1 : 1) * dir;
        });
      }
      const offset = q.offset ?? 0;
      const page = q.limit === undefined ? agents.slice(offset) : agents.slice(offset, offset + q.limit);
      return {
        agents: page.map((a) =>
          agentView(a, groups, ctx, machines.get(a.host.machineId), isolation.get(a.id)),
        ),
        total: agents.length,
        offset,
      };
    },
  },
  {
    method: 'GET',
    url: '/agents/:id',
    schema: { summary: 'One agent', params: idParams, querystring: NO_QUERY },
    async handler(req, ctx) {
      const agent = await agentById(ctx, (req.params as Id).id);
      return viewOne(ctx, agent.id);
    },
  },
  {
    method: 'POST',
    url: '/agents/:id/move',
    schema: {
      summary: "Move an agent to another group (its new group's policy is pushed at once)",
      params: idParams,
      body: object({ group: groupRef }, ['group']),
    },
    async handler(req, ctx) {
      const body = req.body as { group: string };
      await fleetLock(ctx.storage).run(async () => {
        const agent = await agentById(ctx, (req.params as Id).id);
        const target = await findGroup(ctx.storage, body.group, 'field group');
        if (agent.decommissionedAt !== null) {
          throw new PalisadeError('conflict', `agent ${agent.id} is decommissioned; it cannot be moved`);
        }
        if (agent.groupId === target.id) return;
        await ctx.storage.updateAgent(agent.id, { groupId: target.id });
        await auditRequest(ctx, req, {
          action: 'agent.move',
          targetType: 'agent',
          targetId: agent.id,
          details: {
            hostname: agent.host.hostname,
            from_group_id: agent.groupId,
            to_group: target.name,
            to_group_id: target.id,
          },
        });
        // Its new group's policy follows at once when it is connected, else at its next Welcome.
        const from = await ctx.storage.getGroup(agent.groupId);
        const current = await catchUpRevision(ctx, target, from?.policy.revision ?? 0);
        pushPolicy(ctx, current, [agent.id]);
      });
      return viewOne(ctx, (req.params as Id).id.toLowerCase());
    },
  },
  {
    method: 'POST',
    url: '/agents/:id/decommission',
    schema: {
      summary: 'Decommission an agent: its credential is refused from now on, its events stay',
      params: idParams,
      body: NO_BODY,
    },
    async handler(req, ctx) {
      await fleetLock(ctx.storage).run(async () => {
        const agent = await agentById(ctx, (req.params as Id).id);
        if (agent.decommissionedAt !== null) {
          throw new PalisadeError(
            'conflict',
            `agent ${agent.id} was already decommissioned on ${iso(agent.decommissionedAt)}`,
          );
        }
        await ctx.storage.updateAgent(agent.id, { decommissionedAt: ctx.clock.now() });
        // From now on its certificate is refused (check-in, telemetry); end the open connection too.
        ctx.sessions.get(agent.id)?.close(CLOSE_CREDENTIAL_REFUSED, 'agent decommissioned');
        await auditRequest(ctx, req, {
          action: 'agent.decommission',
          targetType: 'agent',
          targetId: agent.id,
          details: { hostname: agent.host.hostname, machine_id: agent.host.machineId },
        });
      });
      return viewOne(ctx, (req.params as Id).id.toLowerCase());
    },
  },
  {
    method: 'POST',
    url: '/agents/:id/revoke',
    schema: {
      summary: "Revoke an agent's credential (its sessions close; re-enrolment needs a registration key)",
      params: idParams,
      body: optionalBody({
        // Shown to the agent and in listings: printable text only.
        reason: {
          type: 'string',
          minLength: 1,
          maxLength: 200,
          pattern: '^[^\\u0000-\\u001f\\u007f]*$',
          description: 'a reason of 1-200 printable characters',
        },
      }),
    },
    async handler(req, ctx) {
      const reason = (req.body as { reason?: string } | undefined)?.reason;
      await fleetLock(ctx.storage).run(async () => {
        const agent = await agentById(ctx, (req.params as { id: string }).id);
        if (agent.revokedAt !== null) {
          throw new PalisadeError(
            'conflict',
            `agent ${agent.id} was already revoked on ${iso(agent.revokedAt)}`,
          );
        }
        await ctx.storage.updateAgent(agent.id, {
          revokedAt: ctx.clock.now(),
          ...(reason !== undefined ? { revocationReason: reason } : {}),
        });
        // Refused from now on at check-in, renewal and telemetry; the open connection ends now
        // (a standby-only process closes its own within seconds, see session-revalidation.ts).
        ctx.sessions.get(agent.id)?.close(CLOSE_CREDENTIAL_REFUSED, 'agent credential revoked');
        await auditRequest(ctx, req, {
          action: 'agent.revoke',
          targetType: 'agent',
          targetId: agent.id,
          details: {
            hostname: agent.host.hostname,
            machine_id: agent.host.machineId,
            ...(reason !== undefined ? { reason } : {}),
          },
        });
      });
      return viewOne(ctx, (req.params as { id: string }).id.toLowerCase());
    },
  },
];
