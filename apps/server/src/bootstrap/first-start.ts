import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, Logger } from '@palisade/common';
import type { Storage } from '@palisade/storage';
import { DEFAULT_GROUP, DEFAULT_POLICY } from '../fleet/default-group.js';
import { createRegistrationKey } from '../fleet/registration-keys.js';
import { writePrivateFile } from '../fs-secure.js';
import { newSecret, sha256Hex } from '../secrets.js';

/**
 * ensureDefaults prepares a fresh server: the "default" group, one registration key for it and
 * one admin API token. Their secrets go only to 0600 files in the data directory, for the local
 * quickstart and CLI; the database keeps hashes. On later starts it finds the group and does nothing.
 */
export async function ensureDefaults(
  storage: Storage,
  dataDir: string,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  if (await storage.getGroupByName(DEFAULT_GROUP)) return;
  const now = clock.now();
  const groupId = randomUUID();
  await storage.createGroup({ id: groupId, name: DEFAULT_GROUP, createdAt: now, policy: DEFAULT_POLICY });
  const key = await createRegistrationKey(storage, groupId, now);
  const token = newSecret('pat');
  await storage.createToken({
    id: randomUUID(),
    name: 'quickstart-admin',
    role: 'admin',
    secretHash: sha256Hex(token),
    createdAt: now,
    revokedAt: null,
    expiresAt: null,
  });
  writePrivateFile(join(dataDir, 'registration-key'), `${key.secret}\n`);
  writePrivateFile(join(dataDir, 'admin-token'), `${token}\n`);
  logger.info(
    { group: groupId, keyId: key.id, keyFile: join(dataDir, 'registration-key') },
    'first start: created default group, registration key and admin token (secrets written to files)',
  );
}

/** ClientConfig is `<dataDir>/client.json`: how the CLI on this host finds the server. */
export interface ClientConfig {
  /** Base URL of the admin API (routes live under `/api/v1` below it). */
  apiUrl: string;
  registrationUrl: string;
  telemetryUrl: string;
  caFile: string;
  tokenFile: string;
}

/** writeClientConfig writes client.json (0600) on every start, since ports may change. */
export function writeClientConfig(dataDir: string, c: Omit<ClientConfig, 'caFile' | 'tokenFile'>): void {
  const tokenFile = join(dataDir, 'admin-token');
  const config: ClientConfig = {
    ...c,
    caFile: join(dataDir, 'tls', 'ca.pem'),
    tokenFile: existsSync(tokenFile) ? tokenFile : '',
  };
  writePrivateFile(join(dataDir, 'client.json'), `${JSON.stringify(config, null, 2)}\n`);
}
