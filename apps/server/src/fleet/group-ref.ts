import { PalisadeError } from '@palisade/common';
import type { GroupRecord, Storage } from '@palisade/storage';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** findGroup resolves a group by id or by name; `field` names the parameter in the error. */
export async function findGroup(storage: Storage, ref: unknown, field = 'group'): Promise<GroupRecord> {
  if (typeof ref !== 'string' || ref === '' || ref.length > 128) {
    throw new PalisadeError('validation_failed', `${field}: must be a group name or id`);
  }
  const g = UUID.test(ref) ? await storage.getGroup(ref.toLowerCase()) : await storage.getGroupByName(ref);
  if (!g) throw new PalisadeError('not_found', `${field}: no group "${ref}"`);
  return g;
}

/**
 * checkGroupName validates a new group name: 1-63 characters of letters, digits, '.', '_' and '-',
 * starting with a letter or digit. UUID-shaped names are refused, since a reference that looks
 * like a UUID is taken as an id.
 */
export function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name) || UUID.test(name)) {
    throw new PalisadeError(
      'validation_failed',
      `field name: ${JSON.stringify(name)} is not a group name (1-63 letters, digits, '.', '_', '-'; starting with a letter or digit; not a UUID)`,
    );
  }
  return name;
}
