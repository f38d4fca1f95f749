import type { FastifyInstance } from 'fastify';
import { AGENT_ROUTES } from './agents.js';
import { ALERT_ROUTES } from './alerts.js';
import { AUDIT_ROUTES } from './audit.js';
import { type ApiContext, ApiReply, type ApiRoute } from './context.js';
import { EVENT_ROUTES } from './events.js';
import { CA_ROUTES } from './ca.js';
import { GROUP_ROUTES } from './groups.js';
import { HEALTH } from './health.js';
import { KEY_ROUTES } from './keys.js';
import { COMMAND_ROUTES } from './commands.js';
import { openApiDocument } from './openapi.js';
import { PLAYBOOK_ROUTES } from './playbooks.js';
import { RESPONSE_ROUTES } from './response.js';
import { isGuarded } from './route-guard.js';
import { NO_QUERY } from './schema.js';
import { TOKEN_ROUTES } from './tokens.js';
import { SESSION_ROUTES } from './session.js';
import { USER_ROUTES } from './users.js';
import { STREAM_ROUTES } from './stream.js';
import { OVERVIEW_ROUTES } from './overview.js';

export { type ApiContext, ApiReply, type ApiRoute } from './context.js';
export type { JsonSchema, RouteSchema } from './schema.js';

/** API_PREFIX is where the admin API lives on the registration listener. */
export const API_PREFIX = '/api/v1';

/** What mountApi mounted on each app, for the OpenAPI document. */
const mounted = new WeakMap<FastifyInstance, readonly ApiRoute[]>();

const OPENAPI: ApiRoute = {
  method: 'GET',
  url: '/openapi.json',
  schema: { summary: 'This API as an OpenAPI 3.1 document', querystring: NO_QUERY },
  async handler(req) {
    return openApiDocument(mounted.get(req.server) ?? [], API_PREFIX);
  },
};

/** API_ROUTES is every admin API route; the role each needs is in ROUTE_ROLES. */
export const API_ROUTES: readonly ApiRoute[] = [
  HEALTH,
  OPENAPI,
  ...AGENT_ROUTES,
  ...EVENT_ROUTES,
  ...KEY_ROUTES,
  ...GROUP_ROUTES,
  ...TOKEN_ROUTES,
  ...AUDIT_ROUTES,
  ...CA_ROUTES,
  ...RESPONSE_ROUTES,
  ...COMMAND_ROUTES,
  ...PLAYBOOK_ROUTES,
  ...ALERT_ROUTES,
  ...SESSION_ROUTES,
  ...USER_ROUTES,
  ...STREAM_ROUTES,
  ...OVERVIEW_ROUTES,
];

/**
 * checkSchema refuses a route whose schema leaves out a part its method or path needs: a query
 * string schema on GET and DELETE, a body schema on POST and PATCH, a params schema naming every
 * `:param` of the path. Like ROUTE_ROLES, the server does not start with a route that lacks one.
 */
export function checkSchema(r: ApiRoute): void {
  const where = `${r.method} ${API_PREFIX}${r.url}`;
  const s = r.schema;
  if (!s?.summary) throw new Error(`route ${where} has no schema summary (api/schema.ts)`);
  if ((r.method === 'GET' || r.method === 'DELETE') && !s.querystring)
    throw new Error(`route ${where} has no querystring schema (use NO_QUERY when it takes none)`);
  if ((r.method === 'POST' || r.method === 'PATCH') && !s.body)
    throw new Error(`route ${where} has no body schema (use NO_BODY when it takes none)`);
  const names = [...r.url.matchAll(/:([A-Za-z_]\w*)/g)].map((m) => m[1]!);
  const declared = Object.keys((s.params?.properties ?? {}) as object);
  if (names.some((n) => !declared.includes(n)) || declared.some((n) => !names.includes(n)))
    throw new Error(`route ${where}: params schema must declare exactly ${names.join(', ') || 'nothing'}`);
}

/**
 * mountApi registers API_ROUTES under /api/v1, each with its request schema (see checkSchema).
 * Tokens and roles are checked by the route guard (installRouteRoles), which must be installed on
 * `app` first; the guard runs before the body is parsed or validated.
 */
export function mountApi(
  app: FastifyInstance,
  ctx: ApiContext,
  routes: readonly ApiRoute[] = API_ROUTES,
): void {
  if (!isGuarded(app)) throw new Error('mountApi: install the route guard (installRouteRoles) first');
  for (const r of routes) checkSchema(r);
  mounted.set(app, routes);
  for (const r of routes) {
    const { summary: _summary, ...parts } = r.schema;
    app.route({
      method: r.method,
      url: API_PREFIX + r.url,
      schema: parts,
      handler: async (req, reply) => {
        const out = await r.handler(req, ctx, reply);
        if (reply.sent) return reply;
        const [status, body] = out instanceof ApiReply ? [out.status, out.body] : [r.status ?? 200, out];
        return reply.code(status).type('application/json').send(body);
      },
    });
  }
}
