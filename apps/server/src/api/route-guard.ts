import { type Clock, type Logger, PalisadeError } from '@palisade/common';
import type { ApiTokenRecord, Role, SessionRecord, Storage, UserRecord } from '@palisade/storage';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { type AuditFacts, recordAudit } from '../audit/audit-log.js';
import { authenticateToken, roleAllows } from './auth.js';
import { authenticateSession, hasSessionCookie } from '../console/sessions.js';
import { accessFor } from './route-roles.js';

/**
 * Principal is who made a request: an API token (Authorization: Bearer) or a console user (the
 * session cookie). `name` is how the audit log names it: the token's name, or `user:<name>`.
 */
export interface Principal {
  id: string;
  name: string;
  role: Role;
  token?: ApiTokenRecord;
  user?: UserRecord;
  session?: SessionRecord;
}

const principals = new WeakMap<FastifyRequest, Principal>();
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
  return recordAudit(d, req, principals.get(req), facts);
}

/** requestToken is the API token that authenticated `req` (set by the route guard). */
export function requestToken(req: FastifyRequest): ApiTokenRecord | undefined {
  return principals.get(req)?.token;
}

/** requestPrincipal is the token or user that authenticated `req` (set by the route guard). */
export function requestPrincipal(req: FastifyRequest): Principal | undefined {
  return principals.get(req);
}

/** userActorName is how the audit log and commands name a console user. */
export function userActorName(name: string): string {
  return `user:${name}`;
}

/**
 * authenticate finds who calls: a Bearer token when the request has an Authorization header (it
 * wins), else the console session of its cookie; neither is a 401.
 */
async function authenticate(req: FastifyRequest, d: RouteGuardDeps, key: string): Promise<Principal> {
  if (req.headers.authorization === undefined && hasSessionCookie(req)) {
    const { user, session } = await authenticateSession(req, d.storage, key, d.clock.now());
    return { id: user.id, name: userActorName(user.name), role: user.role, user, session };
  }
  if (req.headers.authorization === undefined)
    throw new PalisadeError(
      'unauthorized',
      'missing Authorization: Bearer <token> header (or a console session: log in)',
    );
  const token = await authenticateToken(req, d.storage, 'metrics', d.clock.now());
  return { id: token.id, name: token.name, role: token.role, token };
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
      // Any live token or session first (401 otherwise), then its role against the table (403).
      const key = `${req.method} ${route.url}`;
      const who = await authenticate(req, d, key);
      if (!roleAllows(who.role, access)) {
        await recordAudit(d, req, who, {
          action: 'api.denied',
          targetType: 'route',
          targetId: key,
          outcome: 'denied',
          details: { needed: access, had: who.role },
        });
        const what = who.user ? `user "${who.user.name}"` : `token "${who.name}"`;
        throw new PalisadeError('forbidden', `${key} needs role ${access}; ${what} has role ${who.role}`);
      }
      principals.set(req, who);
      d.onAuthenticated?.(req);
    };
    // onRequest: before the body is read, parsed or validated, so an unauthenticated caller costs
    // no parsing and learns nothing about the route's schema.
    const existing = route.onRequest;
    route.onRequest =
      existing === undefined ? [guard] : [guard, ...(Array.isArray(existing) ? existing : [existing])];
  });
}
