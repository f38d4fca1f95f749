import { PalisadeError } from '@palisade/common';
import type { Role, UserPatch } from '@palisade/storage';
import { hashPassword, temporaryPassword } from '../console/password.js';
import { activeAdmins, createUser, findUser, USER_NAME, userView } from '../console/users.js';
import { fleetLock } from '../fleet/fleet-lock.js';
import type { ApiRoute } from './context.js';
import { auditRequest } from './route-guard.js';
import { NO_BODY, NO_QUERY, object, oneOf, text } from './schema.js';

const ROLES: Role[] = ['admin', 'analyst', 'viewer'];
const userParams = object({ ref: text(64, 'a user name or id') }, ['ref']);
type Ref = { ref: string };

/** USER_ROUTES manage console accounts (admin): list, create, change role, disable, reset password, unlock. */
export const USER_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/users',
    schema: { summary: 'List console users (never their passwords)', querystring: NO_QUERY },
    async handler(_req, ctx) {
      const now = ctx.clock.now();
      return { users: (await ctx.storage.listUsers()).map((u) => userView(u, now)) };
    },
  },
  {
    method: 'POST',
    url: '/users',
    status: 201,
    schema: {
      summary: 'Create a console user with a role; its temporary password is in this answer only',
      body: object(
        {
          name: {
            type: 'string',
            pattern: USER_NAME,
            description: 'a user name (a-z, 0-9, . _ -; 1-32, a letter first)',
          },
          role: oneOf(ROLES),
        },
        ['name', 'role'],
      ),
    },
    async handler(req, ctx) {
      const { name, role } = req.body as { name: string; role: Role };
      if (await ctx.storage.getUserByName(name))
        throw new PalisadeError('conflict', `a user named "${name}" already exists`);
      const { user, password } = await createUser(ctx.storage, name, role, ctx.clock.now());
      await auditRequest(ctx, req, {
        action: 'user.create',
        targetType: 'user',
        targetId: user.id,
        details: { name, role },
      });
      return { user: userView(user, ctx.clock.now()), password };
    },
  },
  {
    method: 'PATCH',
    url: '/users/:ref',
    schema: {
      summary: "Change a user's role or disable/enable it (not the last enabled admin)",
      params: userParams,
      body: object({ role: oneOf(ROLES), disabled: { type: 'boolean', description: 'true or false' } }),
    },
    async handler(req, ctx) {
      const body = req.body as { role?: Role; disabled?: boolean };
      const now = ctx.clock.now();
      const user = await fleetLock(ctx.storage).run(async () => {
        const u = await findUser(ctx.storage, (req.params as Ref).ref);
        const losesAdmin =
          u.role === 'admin' &&
          u.disabledAt === null &&
          ((body.role && body.role !== 'admin') || body.disabled === true);
        if (losesAdmin && (await activeAdmins(ctx.storage)).length === 1)
          throw new PalisadeError(
            'conflict',
            `"${u.name}" is the last enabled admin; make another admin first`,
          );
        const patch: UserPatch = {};
        if (body.role) patch.role = body.role;
        if (body.disabled === true && u.disabledAt === null) patch.disabledAt = now;
        if (body.disabled === false) patch.disabledAt = null;
        await ctx.storage.updateUser(u.id, patch);
        if (body.disabled === true || (body.role && body.role !== u.role))
          await ctx.storage.deleteUserSessions(u.id);
        return { ...u, ...patch };
      });
      await auditRequest(ctx, req, {
        action: 'user.update',
        targetType: 'user',
        targetId: user.id,
        details: { name: user.name, ...body },
      });
      return { user: userView(user, now) };
    },
  },
  {
    method: 'POST',
    url: '/users/:ref/reset-password',
    schema: {
      summary: "Reset a user's password to a temporary one (shown once), unlock it and end its sessions",
      params: userParams,
      body: NO_BODY,
    },
    async handler(req, ctx) {
      const u = await findUser(ctx.storage, (req.params as Ref).ref);
      const password = temporaryPassword();
      const now = ctx.clock.now();
      const patch: UserPatch = {
        passwordHash: await hashPassword(password),
        passwordChangedAt: now,
        mustChangePassword: true,
        failedLogins: 0,
        lockedUntil: null,
      };
      await ctx.storage.updateUser(u.id, patch);
      await ctx.storage.deleteUserSessions(u.id);
      await auditRequest(ctx, req, {
        action: 'user.reset_password',
        targetType: 'user',
        targetId: u.id,
        details: { name: u.name },
      });
      return { user: userView({ ...u, ...patch }, now), password };
    },
  },
  {
    method: 'POST',
    url: '/users/:ref/unlock',
    schema: { summary: 'Unlock a user locked by wrong passwords', params: userParams, body: NO_BODY },
    async handler(req, ctx) {
      const u = await findUser(ctx.storage, (req.params as Ref).ref);
      await ctx.storage.updateUser(u.id, { failedLogins: 0, lockedUntil: null });
      await auditRequest(ctx, req, {
        action: 'user.unlock',
        targetType: 'user',
        targetId: u.id,
        details: { name: u.name },
      });
      return { user: userView({ ...u, failedLogins: 0, lockedUntil: null }, ctx.clock.now()) };
    },
  },
];
