import { PROTOCOL_VERSION } from '@palisade/protocol';
import type { FastifyInstance } from 'fastify';
import { AGENT_ROUTES } from './agents.js';
import { AUDIT_ROUTES } from './audit.js';
import type { ApiContext, ApiRoute } from './context.js';
import { EVENT_ROUTES } from './events.js';
import { GROUP_ROUTES } from './groups.js';
import { KEY_ROUTES } from './keys.js';
import { COMMAND_ROUTES } from './commands.js';
import { RESPONSE_ROUTES } from './response.js';
import { isGuarded } from './route-guard.js';
import { formatSchemaErrors } from './schema-errors.js';
import { TOKEN_ROUTES } from './tokens.js';

export type { ApiContext, ApiRoute } from './context.js';

/** API_PREFIX is where the admin API lives on the registration listener. */
export const API_PREFIX = '/api/v1';

const HEALTH: ApiRoute = {
  method: 'GET',
  url: '/health',
  async handler(_req, ctx) {
    return { status: 'ok', protocol_version: PROTOCOL_VERSION, connected_agents: ctx.sessions.size };
  },
};

/** API_ROUTES is every admin API route; the role each needs is in ROUTE_ROLES. */
export const API_ROUTES: readonly ApiRoute[] = [
  HEALTH,
  ...AGENT_ROUTES,
  ...EVENT_ROUTES,
  ...KEY_ROUTES,
  ...GROUP_ROUTES,
  ...TOKEN_ROUTES,
  ...AUDIT_ROUTES,
  ...RESPONSE_ROUTES,
  ...COMMAND_ROUTES,
];

/** propertiesOf lists the properties a JSON schema declares at a dotted path ("" = top). */
function propertiesOf(schema: unknown, path: string): string[] {
  let node = schema as { properties?: Record<string, unknown> } | undefined;
  for (const part of path ? path.split('.') : []) node = node?.properties?.[part] as typeof node;
  return Object.keys(node?.properties ?? {});
}

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
    const schemas = r.schema as Record<string, unknown> | undefined;
    app.route({
      method: r.method,
      url: API_PREFIX + r.url,
      ...(r.schema
        ? {
            schema: r.schema,
            schemaErrorFormatter: (errors, dataVar) =>
              formatSchemaErrors(errors as never, dataVar, (at) =>
                propertiesOf(schemas?.[dataVar === 'querystring' ? 'querystring' : dataVar], at),
              ),
          }
        : {}),
      handler: async (req, reply) => {
        const body = await r.handler(req, ctx);
        return reply
          .code(r.status ?? 200)
          .type('application/json')
          .send(body);
      },
    });
  }
}
