import { type Clock, type Logger, PalisadeError } from '@palisade/common';
import type { ApiTokenRecord, Storage } from '@palisade/storage';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { type AuditFacts, recordAudit } from '../audit/audit-log.js';
import { authenticateToken, roleAllows } from './auth.js';
import { accessFor } from './route-roles.js';

const tokens = new WeakMap<FastifyRequest, ApiTokenRecord>();
const guarded = new WeakSet<FastifyInstance>();
const seen = new Set<string>();
const schemas = new Map<string, RouteOptions['schema']>();

/** guardedRoutes lists every "METHOD /path" any guard in this process has seen registered (for tests). */
export function guardedRoutes(): string[] {
  return [...seen].sort();
}

/** routeSchema is the request schema a route was registered with, by "METHOD /path" (for tests). */
export function routeSchema(key: string): RouteOptions['schema'] {
  return schemas.get(key);
}

/** isGuarded tells whether installRouteRoles was installed on `app` (mountApi refuses to mount otherwise). */
export function isGuarded(app: FastifyInstance): boolean {
  return guarded.has(app);
}

/** auditRequest writes an audit entry for an admin action made through `req` by its token. */
export function auditRequest(d: RouteGuardDeps, req: FastifyRequest, facts: AuditFacts): Promise<void> {
  return recordAudit(d, req, tokens.get(req), facts);
}

/** requestToken is the API token that authenticated `req` (set by the route guard). */
export function requestToken(req: FastifyRequest): ApiTokenRecord | undefined {
  return tokens.get(req);
}

/** RouteGuardDeps are what the guard needs to check tokens and record refusals. */
export interface RouteGuardDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Told of each request whose API token checked out (the connection caps then trust its connection). */
  onAuthenticated?: (req: FastifyRequest) => void;
}

/**
 * installRouteRoles makes ROUTE_ROLES binding for every route registered on `app` after it: a route
 * with no entry throws at registration (the server does not start with an unguarded route), and a
 * route that needs a role gets an onRequest hook that checks the Bearer token and its role before
 * the body is parsed and validated. A refusal for lack of role is a 403 JSON error, logged and written to the audit log.
 * guardedRoutes() lists every route it has seen (for tests).
 */
export function installRouteRoles(app: FastifyInstance, d: RouteGuardDeps): void {
  guarded.add(app);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let needsToken = false;
    for (const method of methods) {
      seen.add(`${method} ${route.url}`);
      schemas.set(`${method} ${route.url}`, route.schema);
      const access = accessFor(method, route.url);
      if (access === undefined) {
        throw new Error(`route ${method} ${route.url} has no entry in ROUTE_ROLES (api/route-roles.ts)`);
      }
      if (access !== 'public' && access !== 'agent-certificate' && access !== 'registration-key')
        needsToken = true;
    }
    if (!needsToken) return;
    // One guard per route; it looks up the request's own method, since a route may have several.
    const guard = async (req: FastifyRequest) => {
      const access = accessFor(req.method, route.url);
      if (access === 'public' || access === 'agent-certificate' || access === 'registration-key') return;
      if (access === undefined)
        throw new PalisadeError('forbidden', `${req.method} ${route.url} has no role`);
      // Any live token first (401 otherwise), then its role against the table (403).
      const token = await authenticateToken(req, d.storage, 'metrics', d.clock.now());
      if (!roleAllows(token.role, access)) {
        const key = `${req.method} ${route.url}`;
        await recordAudit(d, req, token, {
          action: 'api.denied',
          targetType: 'route',
          targetId: key,
          outcome: 'denied',
          details: { needed: access, had: token.role },
        });
        throw new PalisadeError(
          'forbidden',
          `${key} needs role ${access}; token "${token.name}" has role ${token.role}`,
        );
      }
      tokens.set(req, token);
      d.onAuthenticated?.(req);
    };
    // onRequest: before the body is read, parsed or validated, so an unauthenticated caller costs
    // no parsing and learns nothing about the route's schema.
    const existing = route.onRequest;
    route.onRequest =
      existing === undefined ? [guard] : [guard, ...(Array.isArray(existing) ? existing : [existing])];
  });
}
