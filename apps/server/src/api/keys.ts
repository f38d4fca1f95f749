import { PalisadeError } from '@palisade/common';
import type { GroupRecord, RegistrationKeyRecord } from '@palisade/storage';
import { createRegistrationKey } from '../fleet/registration-keys.js';
import { findGroup } from '../fleet/group-ref.js';
import type { ApiContext, ApiRoute } from './context.js';
import { groupRef, idParams, NO_BODY, object, optionalBody } from './schema.js';
import { auditRequest } from './route-guard.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** keyView is the API's JSON for a registration key. It never contains the secret. */
export function keyView(
  k: RegistrationKeyRecord,
  group: GroupRecord | undefined,
  agents: number,
  nowMs: number,
  claimable = false,
) {
  return {
    id: k.id,
    prefix: k.prefix,
    group: group?.name ?? null,
    group_id: k.groupId,
    created_at: iso(k.createdAt),
    expires_at: iso(k.expiresAt),
    revoked_at: iso(k.revokedAt),
    rotated_from: k.rotatedFrom,
    status:
      k.revokedAt !== null
        ? 'revoked'
        : nowMs >= k.expiresAt
          ? 'expired'
          : k.maxUses !== null && agents >= k.maxUses
            ? 'used_up'
            : 'active',
    registrations: agents,
    /** How many registrations the key allows in all; null when it has no quota. */
    max_uses: k.maxUses,
    /** True while the secret of an automatically generated key waits to be claimed (once). */
    secret_claimable: claimable,
  };
}

async function keyById(ctx: ApiContext, id: string): Promise<RegistrationKeyRecord> {
  const key = await ctx.storage.getKey(id.toLowerCase());
  if (!key) throw new PalisadeError('not_found', `no registration key ${id}`);
  return key;
}

async function viewOne(ctx: ApiContext, key: RegistrationKeyRecord) {
  const counts = await ctx.storage.countRegistrationsByKey();
  return keyView(
    key,
    await ctx.storage.getGroup(key.groupId),
    counts.get(key.id) ?? 0,
    ctx.clock.now(),
    ctx.keyRotation?.claimable(key.id) ?? false,
  );
}

/** KEY_ROUTES list, create, revoke and rotate registration keys, and claim generated secrets. */
export const KEY_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/keys',
    schema: {
      summary: 'List registration keys (never their secrets), with uses and quota',
      querystring: object({ group: groupRef }),
    },
    async handler(req, ctx) {
      const q = req.query as { group?: string };
      const group =
        q.group === undefined ? undefined : await findGroup(ctx.storage, q.group, 'parameter group');
      const [keys, groups, counts] = await Promise.all([
        ctx.storage.listKeys(group?.id),
        ctx.storage.listGroups(),
        ctx.storage.countRegistrationsByKey(),
      ]);
      const byId = new Map(groups.map((g) => [g.id, g]));
      const now = ctx.clock.now();
      return {
        keys: keys.map((k) =>
          keyView(
            k,
            byId.get(k.groupId),
            counts.get(k.id) ?? 0,
            now,
            ctx.keyRotation?.claimable(k.id) ?? false,
          ),
        ),
      };
    },
  },
  {
    method: 'POST',
    url: '/keys',
    status: 201,
    schema: {
      summary: 'Create a registration key for a group (the secret is in this answer only)',
      body: optionalBody({
        group: { ...groupRef, description: 'a group name or id (default: the default group)' },
        max_uses: {
          type: 'integer',
          minimum: 1,
          maximum: 1_000_000,
          description: 'a number of registrations from 1 to 1000000 (default: no quota)',
        },
      }),
    },
    async handler(req, ctx) {
      const body = (req.body ?? {}) as { group?: string; max_uses?: number };
      const group = await findGroup(ctx.storage, body.group ?? 'default', 'field group');
      const now = ctx.clock.now();
      const created = await createRegistrationKey(ctx.storage, group.id, now, null, body.max_uses ?? null);
      const record = await ctx.storage.getKey(created.id);
      if (!record) throw new PalisadeError('internal', 'key vanished after creation');
      await auditRequest(ctx, req, {
        action: 'key.create',
        targetType: 'key',
        targetId: created.id,
        details: { group: group.name, group_id: group.id, prefix: record.prefix, max_uses: record.maxUses },
      });
      // The only time the secret is ever shown.
      return { key: keyView(record, group, 0, now), secret: created.secret };
    },
  },
  {
    method: 'POST',
    url: '/keys/:id/revoke',
    schema: {
      summary: 'Revoke a registration key: new registrations with it are refused',
      params: idParams,
      body: NO_BODY,
    },
    async handler(req, ctx) {
      const key = await keyById(ctx, (req.params as { id: string }).id);
      if (key.revokedAt !== null)
        throw new PalisadeError('conflict', `registration key ${key.id} is already revoked`);
      const now = ctx.clock.now();
      await ctx.storage.revokeKey(key.id, now);
      ctx.keyRotation?.claim(key.id);
      await auditRequest(ctx, req, {
        action: 'key.revoke',
        targetType: 'key',
        targetId: key.id,
        details: { group_id: key.groupId, prefix: key.prefix },
      });
      return { key: await viewOne(ctx, { ...key, revokedAt: now }) };
    },
  },
  {
    method: 'POST',
    url: '/keys/:id/claim',
    schema: {
      summary: 'Claim the secret of an automatically rotated key (once)',
      params: idParams,
      body: NO_BODY,
    },
    async handler(req, ctx) {
      const key = await keyById(ctx, (req.params as { id: string }).id);
      const secret = ctx.keyRotation?.claim(key.id);
      if (secret === undefined) {
        throw new PalisadeError(
          'conflict',
          `registration key ${key.id} has no secret to claim: only automatically generated keys have one, and only once`,
        );
      }
      await auditRequest(ctx, req, { action: 'key.claim', targetType: 'key', targetId: key.id, details: {} });
      return { key: await viewOne(ctx, key), secret };
    },
  },
  {
    method: 'POST',
    url: '/keys/rotate',
    schema: { summary: 'Run the key rotation check now', body: NO_BODY },
    async handler(req, ctx) {
      if (!ctx.keyRotation)
        throw new PalisadeError('unavailable', 'key rotation is not running on this server');
      const rotated = await ctx.keyRotation.runNow();
      await auditRequest(ctx, req, {
        action: 'key.rotation_check',
        targetType: 'key',
        targetId: null,
        details: { created: rotated.map((r) => r.keyId) },
      });
      const keys = await Promise.all(
        rotated.map(async (r) => viewOne(ctx, (await ctx.storage.getKey(r.keyId))!)),
      );
      return { created: keys };
    },
  },
];
