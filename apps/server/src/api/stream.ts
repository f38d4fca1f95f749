import { PalisadeError } from '@palisade/common';
import type { ApiContext, ApiRoute } from './context.js';
import { requestPrincipal } from './route-guard.js';
import { NO_QUERY } from './schema.js';
import { SESSION_IDLE_MS } from '../console/sessions.js';

/** How often a stream compares the fleet's state with what it last sent, and sends a keep-alive. */
const CHECK_MS = 1500;
const KEEPALIVE_MS = 15_000;
/** At most this many streams at once on one server. */
const MAX_STREAMS = 200;
let open = 0;

/** fleetState is, per agent, a short string of what the console shows live: connection, health, isolation. */
async function fleetState(ctx: ApiContext): Promise<Map<string, string>> {
  const iso = new Map((await ctx.storage.listIsolation()).map((r) => [r.agentId, r]));
  const out = new Map<string, string>();
  for (const a of await ctx.storage.listAgents()) {
    const c = ctx.sessions.state(a.id);
    const i = iso.get(a.id);
    out.set(
      a.id,
      `${c.state}|${c.channel ?? ''}|${a.lastSeenAt === null ? '' : Math.floor(a.lastSeenAt / 30_000)}|${a.revokedAt ?? ''}|${a.decommissionedAt ?? ''}|${a.groupId}|${i?.desired.revision ?? ''}|${i?.actual?.revision ?? ''}|${i?.actual?.state ?? ''}`,
    );
  }
  return out;
}

/** Commands newest first, as id → state, for the last 200. */
async function commandState(ctx: ApiContext): Promise<Map<string, { state: string; agentId: string }>> {
  const page = await ctx.storage.listCommands({ limit: 200 });
  return new Map(page.commands.map((c) => [c.id, { state: c.state, agentId: c.agentId }]));
}

/**
 * STREAM_ROUTES: `GET /stream`, server-sent events telling the console what changed (agents'
 * connection, health or isolation; commands' state), so it fetches again only what it shows and
 * only when something moved. Each `change` event carries `{ agents: [ids], commands: [{id, agent_id, state}] }`.
 * A console stream ends when its session does (logout, expiry).
 */
export const STREAM_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/stream',
    schema: {
      summary: 'Server-sent events: which agents and commands changed (for live views)',
      querystring: NO_QUERY,
    },
    async handler(req, ctx, reply) {
      if (open >= MAX_STREAMS)
        throw new PalisadeError('unavailable', 'too many live streams open; retry later');
      const who = requestPrincipal(req)!;
      open++;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 3000\n\n');
      let agents = await fleetState(ctx);
      let commands = await commandState(ctx);
      let lastWrite = ctx.clock.now();
      let busy = false;
      const tick = async () => {
        if (busy) return;
        busy = true;
        try {
          if (who.session) {
            const s = await ctx.storage.findSession(who.session.idHash);
            const now = ctx.clock.now();
            if (!s || now >= s.expiresAt || now - s.lastSeenAt >= SESSION_IDLE_MS) return end();
          }
          const a2 = await fleetState(ctx);
          const c2 = await commandState(ctx);
          const changedAgents = [...a2].filter(([id, v]) => agents.get(id) !== v).map(([id]) => id);
          const changedCommands = [...c2]
            .filter(([id, v]) => commands.get(id)?.state !== v.state)
            .map(([id, v]) => ({ id, agent_id: v.agentId, state: v.state }));
          agents = a2;
          commands = c2;
          if (changedAgents.length || changedCommands.length) {
            res.write(
              `event: change\ndata: ${JSON.stringify({ agents: changedAgents, commands: changedCommands })}\n\n`,
            );
            lastWrite = ctx.clock.now();
          } else if (ctx.clock.now() - lastWrite >= KEEPALIVE_MS) {
            res.write(': keep-alive\n\n');
            lastWrite = ctx.clock.now();
          }
        } catch (err) {
          ctx.logger.warn({ err }, 'live stream check failed');
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void tick(), CHECK_MS);
      let ended = false;
      function end() {
        if (ended) return;
        ended = true;
        clearInterval(timer);
        open--;
        res.end();
      }
      res.on('close', end);
      return undefined;
    },
  },
];
