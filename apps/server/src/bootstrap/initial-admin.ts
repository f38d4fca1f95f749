import { join } from 'node:path';
import type { Clock, Logger } from '@palisade/common';
import type { Storage } from '@palisade/storage';
import { recordAuditAs } from '../audit/audit-log.js';
import { createUser } from '../console/users.js';
import { writePrivateFile } from '../fs-secure.js';

/** INITIAL_ADMIN is the name of the console account a fresh server creates. */
export const INITIAL_ADMIN = 'admin';
/** INITIAL_ADMIN_FILE is where, below the data directory, its one-time password is written (0600). */
export const INITIAL_ADMIN_FILE = 'initial-admin-password';

/**
 * ensureInitialAdmin creates the console's first account, "admin", when there is none: its
 * generated password goes only to a 0600 file in the (0700, root-owned) data directory and must
 * be changed at first login; the database keeps its scrypt hash.
 */
export async function ensureInitialAdmin(
  storage: Storage,
  dataDir: string,
  clock: Clock,
  logger: Logger,
): Promise<void> {
  if ((await storage.listUsers()).length > 0) return;
  const { user, password } = await createUser(storage, INITIAL_ADMIN, 'admin', clock.now());
  const file = join(dataDir, INITIAL_ADMIN_FILE);
  writePrivateFile(file, `${password}\n`);
  await recordAuditAs({ storage, clock, logger }, { id: null, name: 'system' }, '', {
    action: 'user.create',
    targetType: 'user',
    targetId: user.id,
    details: { name: user.name, role: user.role, initial: true },
  });
  logger.info(
    { user: user.name, passwordFile: file },
    'first start: created the console admin (password in a file; change it at first login)',
  );
}
