import type { ApiContext, ApiRoute } from './context.js';
import { presence } from './agents.js';
import { NO_QUERY } from './schema.js';

/** Samples of the stored event count, to turn into a rate (per server: one ring for every caller). */
const samples = new WeakMap<ApiContext, { at: number; count: number }[]>();
const WINDOW_MS = 60_000;

/** eventRate is events stored per second over the last minute of samples, null until two are 2 s apart. */
function eventRate(ctx: ApiContext, now: number, count: number): number | null {
  const ring = samples.get(ctx) ?? [];
  ring.push({ at: now, count });
  while (ring.length > 2 && now - ring[1]!.at >= WINDOW_MS) ring.shift();
  samples.set(ctx, ring);
  const first = ring[0]!;
  if (now - first.at < 2000) return null;
  return Math.max(0, ((count - first.count) * 1000) / (now - first.at));
}

/** OVERVIEW_ROUTES: the console's front page numbers, each of which some list API shows in full. */
export const OVERVIEW_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/overview',
    schema: {
      summary:
        'Fleet summary: agents online/offline/stale, isolated hosts, open commands, events stored and per second',
      querystring: NO_QUERY,
    },
    async handler(_req, ctx) {
      const now = ctx.clock.now();
      const agents = (await ctx.storage.listAgents()).filter(
        (a) => a.decommissionedAt === null && a.revokedAt === null,
      );
      const counts = { online: 0, offline: 0, stale: 0 };
      for (const a of agents) counts[presence(a, ctx.sessions.state(a.id).state === 'connected', now)]++;
      const iso = await ctx.storage.listIsolation();
      const isolated = iso.filter((r) => r.desired.isolated).length;
      const pending = iso.filter((r) => r.actual === null || r.actual.revision !== r.desired.revision).length;
      const open = [
        ...(await ctx.storage.listCommands({ state: 'pending', limit: 1000 })).commands,
        ...(await ctx.storage.listCommands({ state: 'delivered', limit: 1000 })).commands,
      ].length;
      const events = await ctx.storage.countEvents();
      const groups = await ctx.storage.listGroups();
      const outOfDate = agents.filter(
        (a) => a.policyRevision !== groups.find((g) => g.id === a.groupId)?.policy.revision,
      ).length;
      return {
        agents: { total: agents.length, ...counts, policy_out_of_date: outOfDate },
        isolation: { isolated, changes_pending: pending },
        commands: { open },
        events: { stored: events, per_second: eventRate(ctx, now, events) },
        groups: groups.length,
        at: new Date(now).toISOString(),
      };
    },
  },
];
