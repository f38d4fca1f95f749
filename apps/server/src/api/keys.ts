import { PalisadeError } from '@palisade/common';
import type { GroupRecord, RegistrationKeyRecord } from '@palisade/storage';
import { createRegistrationKey } from '../bootstrap/first-start.js';
import type { ApiContext, ApiRoute } from './context.js';
import { type Query, isUuid, jsonBody, rejectUnknown } from './params.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** keyView is the API's JSON for a registration key. It never contains the secret. */
export function keyView(
  k: RegistrationKeyRecord,
  group: GroupRecord | undefined,
  agents: number,
  nowMs: number,
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
  };
}

async function findGroup(ctx: ApiContext, ref: string): Promise<GroupRecord> {
  const g = isUuid(ref)
    ? await ctx.storage.getGroup(ref.toLowerCase())
    : await ctx.storage.getGroupByName(ref);
  if (!g) throw new PalisadeError('not_found', `no group "${ref}"`);
  return g;
}

/** KEY_ROUTES list, create and revoke registration keys. */
export const KEY_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/keys',
    role: 'admin',
    async handler(req, ctx) {
      rejectUnknown(req.query as Query, []);
      const [keys, groups, counts] = await Promise.all([
        ctx.storage.listKeys(),
        ctx.storage.listGroups(),
        ctx.storage.countRegistrationsByKey(),
      ]);
      const byId = new Map(groups.map((g) => [g.id, g]));
      const now = ctx.clock.now();
      return { keys: keys.map((k) => keyView(k, byId.get(k.groupId), counts.get(k.id) ?? 0, now)) };
    },
  },
  {
    method: 'POST',
    url: '/keys',
    role: 'admin',
    status: 201,
    async handler(req, ctx) {
      const body = jsonBody(req.body);
      for (const k of Object.keys(body)) {
        if (k !== 'group')
          throw new PalisadeError('validation_failed', `field ${k}: unknown field (allowed: group)`);
      }
      const ref = body.group ?? 'default';
      if (typeof ref !== 'string' || ref === '' || ref.length > 128) {
        throw new PalisadeError('validation_failed', 'field group: must be a group name or id');
      }
      const group = await findGroup(ctx, ref);
      const now = ctx.clock.now();
      const created = await createRegistrationKey(ctx.storage, group.id, now);
      const record = await ctx.storage.getKey(created.id);
      if (!record) throw new PalisadeError('internal', 'key vanished after creation');
      ctx.logger.info({ keyId: created.id, group: group.id, ip: req.ip }, 'registration key created');
      // The only time the secret is ever shown.
      return { key: keyView(record, group, 0, now), secret: created.secret };
    },
  },
  {
    method: 'POST',
    url: '/keys/:id/revoke',
    role: 'admin',
    async handler(req, ctx) {
      const { id } = req.params as { id: string };
      if (!isUuid(id)) throw new PalisadeError('validation_failed', `parameter id: "${id}" is not a UUID`);
      const key = await ctx.storage.getKey(id.toLowerCase());
      if (!key) throw new PalisadeError('not_found', `no registration key ${id}`);
      if (key.revokedAt !== null)
        throw new PalisadeError('conflict', `registration key ${id} is already revoked`);
      const now = ctx.clock.now();
      await ctx.storage.revokeKey(key.id, now);
      ctx.logger.info({ keyId: key.id, ip: req.ip }, 'registration key revoked');
      const counts = await ctx.storage.countRegistrationsByKey();
      return {
        key: keyView(
          { ...key, revokedAt: now },
          await ctx.storage.getGroup(key.groupId),
          counts.get(key.id) ?? 0,
          now,
        ),
      };
    },
  },
];
