import { PROTOCOL_VERSION } from '@palisade/protocol';
import type { FastifyInstance } from 'fastify';
import { AGENT_ROUTES } from './agents.js';
import { authenticateToken } from './auth.js';
import type { ApiContext, ApiRoute } from './context.js';
import { EVENT_ROUTES } from './events.js';
import { GROUP_ROUTES } from './groups.js';
import { KEY_ROUTES } from './keys.js';

export type { ApiContext, ApiRoute } from './context.js';

/** API_PREFIX is where the admin API lives on the registration listener. */
export const API_PREFIX = '/api/v1';

const HEALTH: ApiRoute = {
  method: 'GET',
  url: '/health',
  role: 'public',
  async handler(_req, ctx) {
    return { status: 'ok', protocol_version: PROTOCOL_VERSION, connected_agents: ctx.sessions.size };
  },
};

/** API_ROUTES is every admin API route with the role it needs; role tests iterate over it. */
export const API_ROUTES: readonly ApiRoute[] = [
  HEALTH,
  ...AGENT_ROUTES,
  ...EVENT_ROUTES,
  ...KEY_ROUTES,
  ...GROUP_ROUTES,
];

/**
 * mountApi registers API_ROUTES under /api/v1. The token check runs before every handler whose
 * role is not 'public', so no route can forget it.
 */
export function mountApi(
  app: FastifyInstance,
  ctx: ApiContext,
  routes: readonly ApiRoute[] = API_ROUTES,
): void {
  for (const r of routes) {
    app.route({
      method: r.method,
      url: API_PREFIX + r.url,
      handler: async (req, reply) => {
        if (r.role !== 'public') await authenticateToken(req, ctx.storage, r.role);
        const body = await r.handler(req, ctx);
        return reply
          .code(r.status ?? 200)
          .type('application/json')
          .send(body);
      },
    });
  }
}
