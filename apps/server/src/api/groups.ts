import type { ApiRoute } from './context.js';
import { type Query, rejectUnknown } from './params.js';

/** GROUP_ROUTES list agent groups with their policy and agent count. */
export const GROUP_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/groups',
    role: 'viewer',
    async handler(req, ctx) {
      rejectUnknown(req.query as Query, []);
      const [groups, agents] = await Promise.all([ctx.storage.listGroups(), ctx.storage.listAgents()]);
      const counts = new Map<string, number>();
      for (const a of agents) counts.set(a.groupId, (counts.get(a.groupId) ?? 0) + 1);
      return {
        groups: groups.map((g) => ({
          id: g.id,
          name: g.name,
          created_at: new Date(g.createdAt).toISOString(),
          policy: {
            revision: g.policy.revision,
            tier: g.policy.tier,
            channel: g.policy.channel,
            maintenance_window: g.policy.maintenanceWindow,
          },
          agent_count: counts.get(g.id) ?? 0,
        })),
      };
    },
  },
];
