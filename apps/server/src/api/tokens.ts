import { randomUUID } from 'node:crypto';
import { PalisadeError } from '@palisade/common';
import type { ApiTokenRecord, Role } from '@palisade/storage';
import { fleetLock } from '../fleet/fleet-lock.js';
import { newSecret, secretPrefix, sha256Hex } from '../secrets.js';
import type { ApiRoute } from './context.js';
import { type Query, isUuid, jsonBody, rejectUnknown } from './params.js';
import { auditRequest, requestToken } from './route-guard.js';

const ROLES: Role[] = ['admin', 'analyst', 'viewer'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,62}$/;

/** tokenView is the API's JSON for an API token. It never contains the secret nor its hash. */
export function tokenView(t: ApiTokenRecord): object {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    created_at: new Date(t.createdAt).toISOString(),
    revoked_at: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
    status: t.revokedAt === null ? 'active' : 'revoked',
  };
}

/** TOKEN_ROUTES list, create and revoke named API tokens. */
export const TOKEN_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/tokens',
    async handler(req, ctx) {
      rejectUnknown(req.query as Query, []);
      return { tokens: (await ctx.storage.listTokens()).map(tokenView) };
    },
  },
  {
    method: 'POST',
    url: '/tokens',
    status: 201,
    async handler(req, ctx) {
      const body = jsonBody(req.body);
      for (const k of Object.keys(body)) {
        if (k !== 'name' && k !== 'role')
          throw new PalisadeError('validation_failed', `field ${k}: unknown field (allowed: name, role)`);
      }
      if (typeof body.name !== 'string' || !NAME.test(body.name) || body.name.trim() !== body.name) {
        throw new PalisadeError(
          'validation_failed',
          `field name: ${JSON.stringify(body.name)} is not a token name (1-63 letters, digits, space, '.', '_', '@', '-')`,
        );
      }
      if (typeof body.role !== 'string' || !ROLES.includes(body.role as Role)) {
        throw new PalisadeError(
          'validation_failed',
          `field role: ${JSON.stringify(body.role)} is not one of ${ROLES.join(', ')}`,
        );
      }
      const name = body.name;
      const secret = newSecret('pat');
      const t: ApiTokenRecord = {
        id: randomUUID(),
        name,
        role: body.role as Role,
        secretHash: sha256Hex(secret),
        createdAt: ctx.clock.now(),
        revokedAt: null,
      };
      await fleetLock(ctx.storage).run(async () => {
        if ((await ctx.storage.listTokens()).some((x) => x.name === name && x.revokedAt === null)) {
          throw new PalisadeError('conflict', `an active API token named "${name}" already exists`);
        }
        await ctx.storage.createToken(t);
      });
      await auditRequest(ctx, req, {
        action: 'token.create',
        targetType: 'token',
        targetId: t.id,
        details: { name, role: t.role, prefix: secretPrefix(secret) },
      });
      // The only time the secret is ever shown.
      return { token: tokenView(t), secret };
    },
  },
  {
    method: 'POST',
    url: '/tokens/:id/revoke',
    async handler(req, ctx) {
      jsonBody(req.body);
      const { id } = req.params as { id: string };
      if (!isUuid(id)) throw new PalisadeError('validation_failed', `parameter id: "${id}" is not a UUID`);
      const revoked = await fleetLock(ctx.storage).run(async () => {
        const all = await ctx.storage.listTokens();
        const t = all.find((x) => x.id === id.toLowerCase());
        if (!t) throw new PalisadeError('not_found', `no API token ${id}`);
        if (t.revokedAt !== null)
          throw new PalisadeError('conflict', `API token "${t.name}" is already revoked`);
        const admins = all.filter((x) => x.role === 'admin' && x.revokedAt === null);
        if (t.role === 'admin' && admins.length === 1) {
          throw new PalisadeError(
            'conflict',
            `"${t.name}" is the last active admin token; create another admin token first`,
          );
        }
        const now = ctx.clock.now();
        await ctx.storage.revokeToken(t.id, now);
        return { ...t, revokedAt: now };
      });
      await auditRequest(ctx, req, {
        action: 'token.revoke',
        targetType: 'token',
        targetId: revoked.id,
        details: { name: revoked.name, role: revoked.role, self: requestToken(req)?.id === revoked.id },
      });
      return { token: tokenView(revoked) };
    },
  },
];
