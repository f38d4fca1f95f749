import { randomUUID } from 'node:crypto';
import { DAY_MS, PalisadeError } from '@palisade/common';
import type { ApiTokenRecord, Role } from '@palisade/storage';
import { fleetLock } from '../fleet/fleet-lock.js';
import { newSecret, secretPrefix, sha256Hex } from '../secrets.js';
import type { ApiRoute } from './context.js';
import { parseTime } from './params.js';
import { idParams, NO_BODY, NO_QUERY, object, oneOf, time } from './schema.js';
import { auditRequest, requestToken } from './route-guard.js';

const ROLES: Role[] = ['admin', 'analyst', 'viewer', 'metrics'];
const NAME = '^[A-Za-z0-9]([A-Za-z0-9 ._@-]{0,61}[A-Za-z0-9._@-])?$';
/** The longest a token may live: ten years. */
const MAX_LIFETIME_MS = 10 * 365 * DAY_MS;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** tokenStatus is active, expired (at `nowMs`) or revoked. */
export function tokenStatus(t: ApiTokenRecord, nowMs: number): 'active' | 'expired' | 'revoked' {
  if (t.revokedAt !== null) return 'revoked';
  return t.expiresAt !== null && nowMs >= t.expiresAt ? 'expired' : 'active';
}

/** tokenView is the API's JSON for an API token. It never contains the secret nor its hash. */
export function tokenView(t: ApiTokenRecord, nowMs: number): object {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    created_at: iso(t.createdAt),
    expires_at: iso(t.expiresAt),
    revoked_at: iso(t.revokedAt),
    status: tokenStatus(t, nowMs),
  };
}

/** expiryOf turns `expires_in` ("90d") or `expires_at` (ISO 8601) into ms, refusing the past and over ten years. */
function expiryOf(body: { expires_in?: string; expires_at?: string }, nowMs: number): number | null {
  if (body.expires_in !== undefined && body.expires_at !== undefined)
    throw new PalisadeError('validation_failed', 'field expires_at: give expires_in or expires_at, not both');
  let at: number;
  let field: string;
  if (body.expires_in !== undefined) {
    field = 'expires_in';
    const m = /^(\d+)([smhdw])$/.exec(body.expires_in)!;
    at = nowMs + Number(m[1]) * UNIT_MS[m[2]!]!;
  } else if (body.expires_at !== undefined) {
    field = 'expires_at';
    at = parseTime(body.expires_at, 'expires_at')!;
  } else return null;
  if (at <= nowMs)
    throw new PalisadeError('validation_failed', `field ${field}: the token would already be expired`);
  if (at - nowMs > MAX_LIFETIME_MS)
    throw new PalisadeError('validation_failed', `field ${field}: more than ten years from now`);
  return at;
}

/** TOKEN_ROUTES list, create and revoke named API tokens. */
export const TOKEN_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/tokens',
    schema: {
      summary: 'List API tokens (never their secrets), with expiry and status',
      querystring: NO_QUERY,
    },
    async handler(_req, ctx) {
      const now = ctx.clock.now();
      return { tokens: (await ctx.storage.listTokens()).map((t) => tokenView(t, now)) };
    },
  },
  {
    method: 'POST',
    url: '/tokens',
    status: 201,
    schema: {
      summary:
        'Create a named API token with a role, optionally expiring (the secret is in this answer only)',
      body: object(
        {
          name: {
            type: 'string',
            pattern: NAME,
            description:
              "a token name (1-63 letters, digits, space, '.', '_', '@', '-'; no space at either end)",
          },
          role: oneOf(ROLES),
          expires_in: {
            type: 'string',
            pattern: '^\\d{1,6}[smhdw]$',
            description: 'a lifetime such as 90d, 12h, 2w (s, m, h, d, w)',
          },
          expires_at: time,
        },
        ['name', 'role'],
      ),
    },
    async handler(req, ctx) {
      const body = req.body as { name: string; role: Role; expires_in?: string; expires_at?: string };
      const { name } = body;
      const now = ctx.clock.now();
      const secret = newSecret('pat');
      const t: ApiTokenRecord = {
        id: randomUUID(),
        name,
        role: body.role,
        secretHash: sha256Hex(secret),
        createdAt: now,
        revokedAt: null,
        expiresAt: expiryOf(body, now),
      };
      await fleetLock(ctx.storage).run(async () => {
        const live = (await ctx.storage.listTokens()).filter((x) => tokenStatus(x, now) === 'active');
        if (live.some((x) => x.name === name)) {
          throw new PalisadeError('conflict', `an active API token named "${name}" already exists`);
        }
        await ctx.storage.createToken(t);
      });
      await auditRequest(ctx, req, {
        action: 'token.create',
        targetType: 'token',
        targetId: t.id,
        details: { name, role: t.role, prefix: secretPrefix(secret), expires_at: iso(t.expiresAt) },
      });
      // The only time the secret is ever shown.
      return { token: tokenView(t, now), secret };
    },
  },
  {
    method: 'POST',
    url: '/tokens/:id/revoke',
    schema: {
      summary: 'Revoke an API token (not the last active admin token)',
      params: idParams,
      body: NO_BODY,
    },
    async handler(req, ctx) {
      const { id } = req.params as { id: string };
      const now = ctx.clock.now();
      const revoked = await fleetLock(ctx.storage).run(async () => {
        const all = await ctx.storage.listTokens();
        const t = all.find((x) => x.id === id.toLowerCase());
        if (!t) throw new PalisadeError('not_found', `no API token ${id}`);
        if (t.revokedAt !== null)
          throw new PalisadeError('conflict', `API token "${t.name}" is already revoked`);
        const admins = all.filter((x) => x.role === 'admin' && tokenStatus(x, now) === 'active');
        if (t.role === 'admin' && admins.length === 1 && admins[0]?.id === t.id) {
          throw new PalisadeError(
            'conflict',
            `"${t.name}" is the last active admin token; create another admin token first`,
          );
        }
        await ctx.storage.revokeToken(t.id, now);
        return { ...t, revokedAt: now };
      });
      await auditRequest(ctx, req, {
        action: 'token.revoke',
        targetType: 'token',
        targetId: revoked.id,
        details: { name: revoked.name, role: revoked.role, self: requestToken(req)?.id === revoked.id },
      });
      return { token: tokenView(revoked, now) };
    },
  },
];
