import { PalisadeError, TokenBuckets } from '@palisade/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordAuditAs } from '../audit/audit-log.js';
import { clearedSessionCookie, sessionCookie } from '../console/cookies.js';
import {
  checkNewPassword,
  decoyHash,
  hashPassword,
  MAX_PASSWORD,
  verifyPassword,
} from '../console/password.js';
import {
  LOCK_AFTER_FAILURES,
  LOCK_MS,
  newSession,
  SESSION_ABSOLUTE_MS,
  SESSION_IDLE_MS,
} from '../console/sessions.js';
import { userView } from '../console/users.js';
import type { ApiContext, ApiRoute } from './context.js';
import { auditRequest, requestPrincipal, userActorName } from './route-guard.js';
import { NO_QUERY, object } from './schema.js';

const password = (what: string) => ({
  type: 'string',
  minLength: 1,
  maxLength: MAX_PASSWORD,
  description: `${what} of 1-${MAX_PASSWORD} characters`,
});

/** Login attempts per source address: 30 at once, then one every 2 s (wrong passwords also lock the account). */
/** LOGIN_BURST is how many login attempts one address may make at once. */
export const LOGIN_BURST = 30;
const loginBuckets = new WeakMap<ApiContext, TokenBuckets>();
function loginLimiter(ctx: ApiContext): TokenBuckets {
  let b = loginBuckets.get(ctx);
  if (!b) {
    b = new TokenBuckets({ burst: LOGIN_BURST, perSecond: 1 / 2, now: () => ctx.clock.now() });
    loginBuckets.set(ctx, b);
  }
  return b;
}

function sessionFacts(ctx: ApiContext, csrf: string, expiresAt: number) {
  return {
    csrf_token: csrf,
    expires_at: new Date(expiresAt).toISOString(),
    idle_timeout_seconds: SESSION_IDLE_MS / 1000,
    now: new Date(ctx.clock.now()).toISOString(),
  };
}

async function startSession(
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ApiContext,
  user: Parameters<typeof newSession>[0],
) {
  const now = ctx.clock.now();
  const { secret, record } = newSession(user, now, req.ip);
  await ctx.storage.createSession(record);
  reply.header('set-cookie', sessionCookie(secret, SESSION_ABSOLUTE_MS / 1000));
  reply.header('cache-control', 'no-store');
  return record;
}

/** SESSION_ROUTES: console login, the current session, logout and password change. */
export const SESSION_ROUTES: ApiRoute[] = [
  {
    method: 'POST',
    url: '/session',
    status: 201,
    schema: {
      summary: 'Log in to the console: sets the session cookie and returns the CSRF token',
      body: object(
        {
          name: {
            type: 'string',
            minLength: 1,
            maxLength: 64,
            description: 'a user name of 1-64 characters',
          },
          password: password('a password'),
        },
        ['name', 'password'],
      ),
    },
    async handler(req, ctx, reply) {
      const { name, password: given } = req.body as { name: string; password: string };
      const wait = loginLimiter(ctx).take(req.ip);
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new PalisadeError(
          'rate_limited',
          `too many login attempts from this address; retry in ${Math.ceil(wait / 1000)} s`,
        );
      }
      const now = ctx.clock.now();
      const user = await ctx.storage.getUserByName(name);
      const denied = async (reason: string, id: string | null) =>
        recordAuditAs(ctx, { id, name: userActorName(name.slice(0, 64)) }, req.ip, {
          action: 'session.login',
          targetType: 'user',
          targetId: id,
          outcome: 'denied',
          details: { reason },
        });
      if (!user) {
        await verifyPassword(given, await decoyHash());
        await denied('unknown user', null);
        throw new PalisadeError('invalid_credentials', 'wrong user name or password');
      }
      if (user.lockedUntil !== null && now < user.lockedUntil) {
        await denied('locked', user.id);
        throw new PalisadeError(
          'forbidden',
          `account "${user.name}" is locked after ${LOCK_AFTER_FAILURES} wrong passwords until ${new Date(user.lockedUntil).toISOString()}; an admin can unlock it (palisade users unlock ${user.name})`,
        );
      }
      if (!(await verifyPassword(given, user.passwordHash))) {
        const after = await ctx.storage.recordLoginFailure(user.id, LOCK_AFTER_FAILURES, now + LOCK_MS);
        await denied('wrong password', user.id);
        if (after.lockedUntil !== null && after.lockedUntil > now) {
          await recordAuditAs(ctx, { id: null, name: 'system' }, req.ip, {
            action: 'user.lock',
            targetType: 'user',
            targetId: user.id,
            details: {
              name: user.name,
              failed_logins: after.failedLogins,
              until: new Date(after.lockedUntil).toISOString(),
            },
          });
        }
        throw new PalisadeError('invalid_credentials', 'wrong user name or password');
      }
      if (user.disabledAt !== null) {
        await denied('disabled', user.id);
        throw new PalisadeError('forbidden', `account "${user.name}" is disabled`);
      }
      await ctx.storage.updateUser(user.id, { failedLogins: 0, lockedUntil: null, lastLoginAt: now });
      const session = await startSession(req, reply, ctx, user);
      await recordAuditAs(ctx, { id: user.id, name: userActorName(user.name) }, req.ip, {
        action: 'session.login',
        targetType: 'user',
        targetId: user.id,
      });
      return {
        user: userView({ ...user, failedLogins: 0, lockedUntil: null, lastLoginAt: now }, now),
        ...sessionFacts(ctx, session.csrfToken, session.expiresAt),
      };
    },
  },
  {
    method: 'GET',
    url: '/session',
    schema: {
      summary: 'Who is calling: the console user and session, or the API token',
      querystring: NO_QUERY,
    },
    async handler(req, ctx, reply) {
      const who = requestPrincipal(req)!;
      reply.header('cache-control', 'no-store');
      if (who.user && who.session)
        return {
          user: userView(who.user, ctx.clock.now()),
          ...sessionFacts(ctx, who.session.csrfToken, who.session.expiresAt),
        };
      return { token: { id: who.id, name: who.name, role: who.role } };
    },
  },
  {
    method: 'DELETE',
    url: '/session',
    schema: { summary: 'Log out: ends the console session and clears its cookie', querystring: NO_QUERY },
    async handler(req, ctx, reply) {
      const who = requestPrincipal(req)!;
      if (!who.session) throw new PalisadeError('bad_request', 'this request has no console session to end');
      await ctx.storage.deleteSession(who.session.idHash);
      reply.header('set-cookie', clearedSessionCookie());
      await auditRequest(ctx, req, { action: 'session.logout', targetType: 'user', targetId: who.id });
      return { logged_out: true };
    },
  },
  {
    method: 'POST',
    url: '/session/password',
    schema: {
      summary: "Change the logged-in user's password (ends the user's other sessions)",
      body: object(
        { current_password: password('the current password'), new_password: password('a new password') },
        ['current_password', 'new_password'],
      ),
    },
    async handler(req, ctx, reply) {
      const who = requestPrincipal(req)!;
      if (!who.user) throw new PalisadeError('bad_request', 'only a console user has a password to change');
      const body = req.body as { current_password: string; new_password: string };
      if (!(await verifyPassword(body.current_password, who.user.passwordHash))) {
        await auditRequest(ctx, req, {
          action: 'user.password_change',
          targetType: 'user',
          targetId: who.id,
          outcome: 'denied',
          details: { reason: 'wrong current password' },
        });
        throw new PalisadeError('invalid_credentials', 'field current_password: wrong password');
      }
      checkNewPassword(body.new_password, who.user.name);
      if (body.new_password === body.current_password)
        throw new PalisadeError('validation_failed', 'field new_password: the same as the current password');
      const now = ctx.clock.now();
      await ctx.storage.updateUser(who.id, {
        passwordHash: await hashPassword(body.new_password),
        passwordChangedAt: now,
        mustChangePassword: false,
      });
      await ctx.storage.deleteUserSessions(who.id);
      const user = (await ctx.storage.getUser(who.id))!;
      const session = await startSession(req, reply, ctx, user);
      await auditRequest(ctx, req, { action: 'user.password_change', targetType: 'user', targetId: who.id });
      return { user: userView(user, now), ...sessionFacts(ctx, session.csrfToken, session.expiresAt) };
    },
  },
];
