import { PalisadeError } from '@palisade/common';
import type { GroupRecord, RegistrationKeyRecord } from '@palisade/storage';
import { createRegistrationKey } from '../fleet/registration-keys.js';
import { findGroup } from '../fleet/group-ref.js';
import type { ApiContext, ApiRoute } from './context.js';
import { type Query, isUuid, jsonBody, rejectUnknown, str } from './params.js';
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
    status: k.revokedAt !== null ? 'revoked' : nowMs >= k.expiresAt ? 'expired' : 'active',
    registrations: agents,
    /** True while the secret of an automatically generated key waits to be claimed (once). */
    secret_claimable: claimable,
  };
}

async function keyById(ctx: ApiContext, id: string): Promise<RegistrationKeyRecord> {
  if (!isUuid(id)) throw new PalisadeError('validation_failed', `parameter id: "${id}" is not a UUID`);
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
    async handler(req, ctx) {
      const q = req.query as Query;
      rejectUnknown(q, ['group']);
      const groupRef = str(q, 'group', 128);
      const group =
        groupRef === undefined ? undefined : await findGroup(ctx.storage, groupRef, 'parameter group');
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
    async handler(req, ctx) {
      const body = jsonBody(req.body);
      for (const k of Object.keys(body)) {
        if (k !== 'group')
          throw new PalisadeError('validation_failed', `field ${k}: unknown field (allowed: group)`);
      }
      const group = await findGroup(ctx.storage, body.group ?? 'default', 'field group');
      const now = ctx.clock.now();
      const created = await createRegistrationKey(ctx.storage, group.id, now);
      const record = await ctx.storage.getKey(created.id);
      if (!record) throw new PalisadeError('internal', 'key vanished after creation');
      await auditRequest(ctx, req, {
        action: 'key.create',
        targetType: 'key',
        targetId: created.id,
        details: { group: group.name, group_id: group.id, prefix: record.prefix },
      });
      // The only time the secret is ever shown.
      return { key: keyView(record, group, 0, now), secret: created.secret };
    },
  },
  {
    method: 'POST',
    url: '/keys/:id/revoke',
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
    async handler(req, ctx) {
      jsonBody(req.body);
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
