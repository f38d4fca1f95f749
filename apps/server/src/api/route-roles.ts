import type { Role } from '@palisade/storage';

/**
 * RouteAccess is who may call a route: an API token of at least a role, anyone ('public'), an
 * agent with its client certificate ('agent-certificate'), or a host holding a registration key
 * ('registration-key'). The last two are checked by the route itself (mutual TLS, key hash).
 */
export type RouteAccess = Role | 'public' | 'agent-certificate' | 'registration-key';

/**
 * ROUTE_ROLES is the one table of who may call each route of the registration listener, keyed by
 * "METHOD /path" in Fastify syntax. A route missing from it cannot be registered (see
 * installRouteRoles), so adding a route means deciding its role here. Roles: viewer reads,
 * analyst reads telemetry and acts on hosts, admin does everything (fleet, keys, tokens, audit).
 */
export const ROUTE_ROLES: Readonly<Record<string, RouteAccess>> = {
  'POST /v1/register': 'registration-key',
  'POST /v1/checkin': 'agent-certificate',
  'POST /v1/renew': 'agent-certificate',
  'GET /api/v1/health': 'public',
  // Orchestrator probes (say nothing about the fleet) and the Prometheus scrape (ADR 0031).
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'metrics',
  'GET /api/v1/openapi.json': 'viewer',

  'GET /api/v1/agents': 'viewer',
  'GET /api/v1/agents/:id': 'viewer',
  'POST /api/v1/agents/:id/move': 'admin',
  'POST /api/v1/agents/:id/decommission': 'admin',
  'POST /api/v1/agents/:id/revoke': 'admin',

  'GET /api/v1/events': 'viewer',

  'GET /api/v1/groups': 'viewer',
  'GET /api/v1/groups/:ref': 'viewer',
  'POST /api/v1/groups': 'admin',
  'PATCH /api/v1/groups/:ref': 'admin',
  'PATCH /api/v1/groups/:ref/policy': 'admin',
  'DELETE /api/v1/groups/:ref': 'admin',

  'GET /api/v1/keys': 'admin',
  'POST /api/v1/keys': 'admin',
  'POST /api/v1/keys/:id/revoke': 'admin',
  'POST /api/v1/keys/:id/claim': 'admin',
  'POST /api/v1/keys/rotate': 'admin',

  'GET /api/v1/tokens': 'admin',
  'POST /api/v1/tokens': 'admin',
  'POST /api/v1/tokens/:id/revoke': 'admin',

  'GET /api/v1/audit': 'admin',

  'GET /api/v1/ca': 'admin',
  'POST /api/v1/ca/rotate': 'admin',
  'POST /api/v1/ca/activate': 'admin',
  'POST /api/v1/ca/retire': 'admin',
  // Response: analysts and admins act on hosts; only admins see offline restore codes.
  'POST /api/v1/agents/:id/isolate': 'analyst',
  'POST /api/v1/agents/:id/restore': 'analyst',
  'POST /api/v1/agents/:id/kill-process': 'analyst',
  'POST /api/v1/agents/:id/quarantine-file': 'analyst',
  'POST /api/v1/agents/:id/collect-file': 'analyst',
  'POST /api/v1/agents/:id/restore-file': 'analyst',
  'POST /api/v1/agents/:id/restore-code': 'admin',
  'POST /api/v1/agents/:id/restore-code/rotate': 'admin',
  'GET /api/v1/commands': 'viewer',
  'GET /api/v1/commands/:id': 'viewer',
  // Playbooks: admins write automations that act; analysts may stop one; everyone may read.
  'GET /api/v1/playbooks': 'viewer',
  'POST /api/v1/playbooks': 'admin',
  'GET /api/v1/playbooks/:ref': 'viewer',
  'POST /api/v1/playbooks/:ref/enable': 'admin',
  'POST /api/v1/playbooks/:ref/disable': 'analyst',
  'DELETE /api/v1/playbooks/:ref': 'admin',
  'GET /api/v1/playbooks/:ref/runs': 'viewer',
  'GET /api/v1/playbook-runs': 'viewer',
  'GET /api/v1/alerts': 'viewer',
  'GET /api/v1/alerts/:id': 'viewer',
  'PATCH /api/v1/alerts/:id': 'analyst',
  'GET /api/v1/detection/status': 'viewer',
  'GET /api/v1/rules': 'viewer',
  'POST /api/v1/rules/reload': 'admin',
  // Console sessions: anyone may try to log in (rate-limited, lockout); the rest need a session or token.
  'POST /api/v1/session': 'public',
  'GET /api/v1/session': 'viewer',
  'DELETE /api/v1/session': 'viewer',
  'POST /api/v1/session/password': 'viewer',
  'GET /api/v1/users': 'admin',
  'POST /api/v1/users': 'admin',
  'PATCH /api/v1/users/:ref': 'admin',
  'POST /api/v1/users/:ref/reset-password': 'admin',
  'POST /api/v1/users/:ref/unlock': 'admin',
  'GET /api/v1/stream': 'viewer',
  'GET /api/v1/overview': 'viewer',
  // The console's static files (no data: the app gets everything from /api/v1 with its session).
  'GET /': 'public',
  'GET /assets/:file': 'public',
  'GET /favicon.svg': 'public',
};

/** routeKey is the ROUTE_ROLES key of a route; HEAD shares its GET route's entry. */
export function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/** accessFor returns the access rule of a route, or undefined when the table has no entry for it. */
export function accessFor(method: string, url: string): RouteAccess | undefined {
  return Object.hasOwn(ROUTE_ROLES, routeKey(method, url)) ? ROUTE_ROLES[routeKey(method, url)] : undefined;
}
