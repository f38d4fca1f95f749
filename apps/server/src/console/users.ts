import { randomUUID } from 'node:crypto';
import { PalisadeError } from '@palisade/common';
import type { Role, Storage, UserRecord } from '@palisade/storage';
import { hashPassword, temporaryPassword } from './password.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** userView is the API's JSON for a console user; never the password hash. */
export function userView(u: UserRecord, nowMs: number): object {
  return {
    id: u.id,
    name: u.name,
    role: u.role,
    created_at: iso(u.createdAt),
    password_changed_at: iso(u.passwordChangedAt),
    must_change_password: u.mustChangePassword,
    failed_logins: u.failedLogins,
    locked_until: u.lockedUntil !== null && u.lockedUntil > nowMs ? iso(u.lockedUntil) : null,
    disabled_at: iso(u.disabledAt),
    last_login_at: iso(u.lastLoginAt),
    status:
      u.disabledAt !== null
        ? 'disabled'
        : u.lockedUntil !== null && u.lockedUntil > nowMs
          ? 'locked'
          : 'active',
  };
}

/** USER_NAME is the pattern of a login name. */
export const USER_NAME = '^[a-z][a-z0-9._-]{0,31}$';

/**
 * createUser makes an account with a generated temporary password that must be changed at first
 * login, and returns the account and that password (shown once, never stored).
 */
export async function createUser(
  storage: Storage,
  name: string,
  role: Role,
  now: number,
): Promise<{ user: UserRecord; password: string }> {
  if (!new RegExp(USER_NAME).test(name))
    throw new PalisadeError(
      'validation_failed',
      `field name: "${name}" is not a user name (a-z, 0-9, . _ -; 1-32, a letter first)`,
    );
  const password = temporaryPassword();
  const user: UserRecord = {
    id: randomUUID(),
    name,
    role,
    passwordHash: await hashPassword(password),
    createdAt: now,
    passwordChangedAt: now,
    mustChangePassword: true,
    failedLogins: 0,
    lockedUntil: null,
    disabledAt: null,
    lastLoginAt: null,
  };
  await storage.createUser(user);
  return { user, password };
}

/** findUser finds a user by id or name, or fails with not_found naming what was asked for. */
export async function findUser(storage: Storage, ref: string): Promise<UserRecord> {
  const u = (await storage.getUser(ref)) ?? (await storage.getUserByName(ref));
  if (!u) throw new PalisadeError('not_found', `no user ${JSON.stringify(ref)}`);
  return u;
}

/** activeAdmins counts the enabled admin accounts (the last one cannot be demoted or disabled). */
export async function activeAdmins(storage: Storage): Promise<UserRecord[]> {
  return (await storage.listUsers()).filter((u) => u.role === 'admin' && u.disabledAt === null);
}
