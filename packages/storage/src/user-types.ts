import type { Role } from './types.js';

/** UserRecord is a local console account. The password is kept only as a scrypt hash. */
export interface UserRecord {
  id: string;
  /** Login name, unique. */
  name: string;
  /** The same roles as API tokens. */
  role: Role;
  /** `scrypt$N$r$p$<salt b64>$<hash b64>` (apps/server/src/console/password.ts). */
  passwordHash: string;
  createdAt: number;
  passwordChangedAt: number;
  /** The password was set by someone else (first admin, reset): it must be changed before anything else. */
  mustChangePassword: boolean;
  /** Wrong passwords in a row since the last successful login. */
  failedLogins: number;
  /** Logins are refused until then (ms since the epoch); null: not locked. */
  lockedUntil: number | null;
  disabledAt: number | null;
  lastLoginAt: number | null;
}

/** UserPatch is what updateUser may change. */
export type UserPatch = Partial<
  Pick<
    UserRecord,
    | 'role'
    | 'passwordHash'
    | 'passwordChangedAt'
    | 'mustChangePassword'
    | 'failedLogins'
    | 'lockedUntil'
    | 'disabledAt'
    | 'lastLoginAt'
  >
>;

/** SessionRecord is a console login session; the cookie's secret is kept only as its sha256. */
export interface SessionRecord {
  /** sha256 (hex) of the session secret the cookie carries. */
  idHash: string;
  userId: string;
  /** The synchronizer token every state-changing request must echo in X-CSRF-Token. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute expiry: the session ends then whatever its use. */
  expiresAt: number;
  remoteAddress: string;
}
