import { randomUUID } from 'node:crypto';
import type { Storage } from '@palisade/storage';
import { newSecret, secretPrefix, sha256Hex } from '../secrets.js';

/** KEY_LIFETIME_MS: registration keys expire one year after they were generated (ADR 0005). */
export const KEY_LIFETIME_MS = 365 * 24 * 60 * 60 * 1000;

/** CreatedKey is a new registration key with its secret, which is shown once and never stored. */
export interface CreatedKey {
  id: string;
  secret: string;
  expiresAt: number;
}

/**
 * createRegistrationKey stores a new key for `groupId` (hash only) and returns its secret;
 * `rotatedFrom` names the key it replaces; `maxUses` caps how many agents may register with it.
 */
export async function createRegistrationKey(
  storage: Storage,
  groupId: string,
  nowMs: number,
  rotatedFrom: string | null = null,
  maxUses: number | null = null,
): Promise<CreatedKey> {
  const secret = newSecret('prk');
  const id = randomUUID();
  const expiresAt = nowMs + KEY_LIFETIME_MS;
  await storage.createKey({
    id,
    groupId,
    secretHash: sha256Hex(secret),
    prefix: secretPrefix(secret),
    createdAt: nowMs,
    expiresAt,
    revokedAt: null,
    rotatedFrom,
    maxUses,
  });
  return { id, secret, expiresAt };
}
