import type { FastifyInstance } from 'fastify';
import { AGENT_ROUTES } from './agents.js';
import { AUDIT_ROUTES } from './audit.js';
import { type ApiContext, ApiReply, type ApiRoute } from './context.js';
import { EVENT_ROUTES } from './events.js';
import { GROUP_ROUTES } from './groups.js';
import { HEALTH } from './health.js';
import { KEY_ROUTES } from './keys.js';
import { isGuarded } from './route-guard.js';
import { TOKEN_ROUTES } from './tokens.js';

export { type ApiContext, ApiReply, type ApiRoute } from './context.js';

/** API_PREFIX is where the admin API lives on the registration listener. */
export const API_PREFIX = '/api/v1';

/** API_ROUTES is every admin API route; the role each needs is in ROUTE_ROLES. */
export const API_ROUTES: readonly ApiRoute[] = [
  HEALTH,
  ...AGENT_ROUTES,
  ...EVENT_ROUTES,
  ...KEY_ROUTES,
  ...GROUP_ROUTES,
  ...TOKEN_ROUTES,
  ...AUDIT_ROUTES,
];

/**
 * mountApi registers API_ROUTES under /api/v1. Tokens and roles are checked by the route guard
 * (installRouteRoles), which must be installed on `app` first.
 */
export function mountApi(
  app: FastifyInstance,
  ctx: ApiContext,
  routes: readonly ApiRoute[] = API_ROUTES,
): void {
  if (!isGuarded(app)) throw new Error('mountApi: install the route guard (installRouteRoles) first');
  for (const r of routes) {
    app.route({
      method: r.method,
      url: API_PREFIX + r.url,
      handler: async (req, reply) => {
        const out = await r.handler(req, ctx);
        const [status, body] = out instanceof ApiReply ? [out.status, out.body] : [r.status ?? 200, out];
        return reply.code(status).type('application/json').send(body);
      },
    });
  }
}
