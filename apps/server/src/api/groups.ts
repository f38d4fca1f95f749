import { randomUUID } from 'node:crypto';
import { PalisadeError } from '@palisade/common';
import type { AgentRecord, GroupRecord } from '@palisade/storage';
import { DEFAULT_GROUP, DEFAULT_POLICY } from '../fleet/default-group.js';
import { createRegistrationKey } from '../fleet/registration-keys.js';
import { fleetLock } from '../fleet/fleet-lock.js';
import { checkGroupName, findGroup } from '../fleet/group-ref.js';
import { applyPolicyChange, type PolicyChange, policyView } from '../fleet/policy.js';
import { pushGroupPolicy, pushPolicy } from '../fleet/policy-push.js';
import { catchUpRevision, nextRevision } from '../fleet/revision.js';
import type { ApiContext, ApiRoute } from './context.js';
import { keyView } from './keys.js';
import { groupRef, NO_QUERY, object, text } from './schema.js';
import { POLICY_CHANGE } from './policy-schema.js';
import { auditRequest } from './route-guard.js';

/** groupView is the API's JSON for a group: policy, agent counts, and how many run an older policy. */
export function groupView(g: GroupRecord, agents: AgentRecord[]): object {
  const mine = agents.filter((a) => a.groupId === g.id);
  const active = mine.filter((a) => a.decommissionedAt === null);
  return {
    id: g.id,
    name: g.name,
    created_at: new Date(g.createdAt).toISOString(),
    policy: policyView(g.policy),
    agent_count: active.length,
    decommissioned_count: mine.length - active.length,
    out_of_date_count: active.filter((a) => a.policyRevision !== g.policy.revision).length,
  };
}

function protectDefault(g: GroupRecord, what: string): void {
  // The server recreates a missing "default" group (with a new key and admin token) on start.
  if (g.name === DEFAULT_GROUP) {
    throw new PalisadeError(
      'conflict',
      `the "${DEFAULT_GROUP}" group cannot be ${what}: the server relies on it`,
    );
  }
}

async function nameFree(ctx: ApiContext, name: string): Promise<void> {
  if (await ctx.storage.getGroupByName(name)) {
    throw new PalisadeError('conflict', `a group named "${name}" already exists`);
  }
}

const refParams = object({ ref: groupRef }, ['ref']);
type Ref = { ref: string };
const GROUP_NAME = text(
  63,
  "a group name (1-63 letters, digits, '.', '_', '-'; starting with a letter or digit; not a UUID)",
);

/** GROUP_ROUTES manage agent groups and their policies. */
export const GROUP_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/groups',
    schema: { summary: 'List groups with their policy and agent counts', querystring: NO_QUERY },
    async handler(_req, ctx) {
      const [groups, agents] = await Promise.all([ctx.storage.listGroups(), ctx.storage.listAgents()]);
      return { groups: groups.map((g) => groupView(g, agents)) };
    },
  },
  {
    method: 'GET',
    url: '/groups/:ref',
    schema: { summary: 'One group', params: refParams, querystring: NO_QUERY },
    async handler(req, ctx) {
      const g = await findGroup(ctx.storage, (req.params as Ref).ref, 'parameter ref');
      return groupView(g, await ctx.storage.listAgents());
    },
  },
  {
    method: 'POST',
    url: '/groups',
    status: 201,
    schema: {
      summary: 'Create a group (with its first registration key, whose secret is in this answer only)',
      body: object({ name: GROUP_NAME, policy: POLICY_CHANGE }, ['name']),
    },
    async handler(req, ctx) {
      const body = req.body as { name: string; policy?: PolicyChange };
      const name = checkGroupName(body.name);
      // Validated in full before anything is written.
      const policy = applyPolicyChange(DEFAULT_POLICY, body.policy ?? {});
      const g: GroupRecord = { id: randomUUID(), name, createdAt: ctx.clock.now(), policy };
      // Every group has a registration key: the first one is made with it, its secret shown once.
      const key = await fleetLock(ctx.storage).run(async () => {
        await nameFree(ctx, name);
        g.policy = { ...policy, revision: await nextRevision(ctx.storage) };
        await ctx.storage.createGroup(g);
        try {
          return await createRegistrationKey(ctx.storage, g.id, g.createdAt);
        } catch (err) {
          await ctx.storage.deleteGroup(g.id).catch(() => {});
          throw err;
        }
      });
      await auditRequest(ctx, req, {
        action: 'group.create',
        targetType: 'group',
        targetId: g.id,
        details: { name, policy: policyView(g.policy), key_id: key.id },
      });
      const record = (await ctx.storage.getKey(key.id))!;
      return {
        ...groupView(g, []),
        registration_key: { key: keyView(record, g, 0, g.createdAt), secret: key.secret },
      };
    },
  },
  {
    method: 'PATCH',
    url: '/groups/:ref',
    schema: { summary: 'Rename a group', params: refParams, body: object({ name: GROUP_NAME }, ['name']) },
    async handler(req, ctx) {
      const name = checkGroupName((req.body as { name: string }).name);
      const g = await fleetLock(ctx.storage).run(async () => {
        const g = await findGroup(ctx.storage, (req.params as Ref).ref, 'parameter ref');
        if (g.name === name) return g;
        protectDefault(g, 'renamed');
        await nameFree(ctx, name);
        await ctx.storage.updateGroup(g.id, { name });
        await auditRequest(ctx, req, {
          action: 'group.rename',
          targetType: 'group',
          targetId: g.id,
          details: { from: g.name, to: name },
        });
        return { ...g, name };
      });
      return groupView(g, await ctx.storage.listAgents());
    },
  },
  {
    method: 'PATCH',
    url: '/groups/:ref/policy',
    schema: {
      summary: "Change a group's policy (pushed at once to its connected agents)",
      params: refParams,
      body: POLICY_CHANGE,
    },
    async handler(req, ctx) {
      const body = req.body as PolicyChange;
      const { group, pushed } = await fleetLock(ctx.storage).run(async () => {
        const g = await findGroup(ctx.storage, (req.params as Ref).ref, 'parameter ref');
        const changed = applyPolicyChange(g.policy, body);
        if (changed === g.policy) return { group: g, pushed: 0 };
        const policy = { ...changed, revision: await nextRevision(ctx.storage) };
        await ctx.storage.updateGroup(g.id, { policy });
        const group = { ...g, policy };
        await auditRequest(ctx, req, {
          action: 'group.policy',
          targetType: 'group',
          targetId: g.id,
          details: { name: g.name, from: policyView(g.policy), to: policyView(policy) },
        });
        return { group, pushed: await pushGroupPolicy(ctx, group) };
      });
      return { ...groupView(group, await ctx.storage.listAgents()), pushed_to: pushed };
    },
  },
  {
    method: 'DELETE',
    url: '/groups/:ref',
    schema: {
      summary: 'Delete a group (one with agents only with move_agents_to)',
      params: refParams,
      querystring: object({ move_agents_to: groupRef }),
    },
    async handler(req, ctx) {
      const moveRef = (req.query as { move_agents_to?: string }).move_agents_to;
      return fleetLock(ctx.storage).run(async () => {
        const g = await findGroup(ctx.storage, (req.params as Ref).ref, 'parameter ref');
        protectDefault(g, 'deleted');
        const target =
          moveRef === undefined
            ? undefined
            : await findGroup(ctx.storage, moveRef, 'parameter move_agents_to');
        if (target?.id === g.id) {
          throw new PalisadeError(
            'validation_failed',
            'parameter move_agents_to: cannot move agents to the group being deleted',
          );
        }
        const members = (await ctx.storage.listAgents()).filter((a) => a.groupId === g.id);
        if (members.length > 0 && !target) {
          throw new PalisadeError(
            'conflict',
            `group "${g.name}" still has ${members.length} agent(s); move them first or pass move_agents_to=<group>`,
          );
        }
        const keys = await ctx.storage.listKeys(g.id);
        await ctx.storage.deleteGroup(g.id, target?.id);
        // Its keys went with it; so do generated secrets still waiting to be claimed.
        for (const k of keys) ctx.keyRotation?.claim(k.id);
        await auditRequest(ctx, req, {
          action: 'group.delete',
          targetType: 'group',
          targetId: g.id,
          details: {
            name: g.name,
            ...(target ? { moved_agents_to: target.name, moved: members.length } : {}),
          },
        });
        if (target) {
          const current = await catchUpRevision(ctx, target, g.policy.revision);
          pushPolicy(
            ctx,
            current,
            members.filter((a) => a.decommissionedAt === null).map((a) => a.id),
          );
        }
        return { deleted: g.id, moved_agents: members.length, ...(target ? { moved_to: target.id } : {}) };
      });
    },
  },
];
