import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SPOOL_KEY_BYTES } from '../spool/spool-cipher.js';
import { writeAtomic } from './atomic-file.js';
import { IdentityError } from './identity-store.js';

/** SPOOL_KEY_FILE is the spool's encryption key in the (root-only, 0700) state directory. */
export const SPOOL_KEY_FILE = 'spool.key';

/**
 * loadOrCreateSpoolKey returns the key the spool is encrypted with (ADR 0032): 32 random bytes,
 * kept hex-encoded in `<stateDir>/spool.key`, mode 0600, created atomically at the first start.
 * A key file that others may read, or that is not 64 hex digits, is a clear IdentityError: a new
 * key would make every spooled batch unreadable, so it is never replaced silently.
 */
export function loadOrCreateSpoolKey(stateDir: string): Buffer {
  const path = join(stateDir, SPOOL_KEY_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new IdentityError(`cannot read ${path}: ${(err as Error).message}`);
    const key = randomBytes(SPOOL_KEY_BYTES);
    writeAtomic(path, `${key.toString('hex')}\n`, 0o600);
    return key;
  }
  if ((statSync(path).mode & 0o077) !== 0)
    throw new IdentityError(`${path} is readable by group or others; it must be mode 0600`);
  const hex = text.trim();
  if (!/^[0-9a-f]+$/i.test(hex) || hex.length !== SPOOL_KEY_BYTES * 2)
    throw new IdentityError(
      `${path} is not a spool key (${SPOOL_KEY_BYTES * 2} hex digits); restore it from a backup, or move it away to start an empty spool (spooled batches are then lost)`,
    );
  return Buffer.from(hex, 'hex');
}
