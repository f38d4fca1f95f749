import type { Role, SessionRecord, UserPatch, UserRecord } from '@palisade/storage';
import { mapConstraint, notFound } from './errors.js';
import type { Statements } from './statements.js';

interface UserRow {
  id: string;
  name: string;
  role: Role;
  password_hash: string;
  created_at: number;
  password_changed_at: number;
  must_change_password: number;
  failed_logins: number;
  locked_until: number | null;
  disabled_at: number | null;
  last_login_at: number | null;
}

const USER_COLS =
  'id, name, role, password_hash, created_at, password_changed_at, must_change_password, failed_logins, locked_until, disabled_at, last_login_at';

function toUser(r: UserRow): UserRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    passwordHash: r.password_hash,
    createdAt: r.created_at,
    passwordChangedAt: r.password_changed_at,
    mustChangePassword: r.must_change_password === 1,
    failedLogins: r.failed_logins,
    lockedUntil: r.locked_until,
    disabledAt: r.disabled_at,
    lastLoginAt: r.last_login_at,
  };
}

/** Column of each patchable field, so updates are built from a fixed list, never from input. */
const PATCH_COLUMNS: Record<keyof UserPatch, string> = {
  role: 'role',
  passwordHash: 'password_hash',
  passwordChangedAt: 'password_changed_at',
  mustChangePassword: 'must_change_password',
  failedLogins: 'failed_logins',
  lockedUntil: 'locked_until',
  disabledAt: 'disabled_at',
  lastLoginAt: 'last_login_at',
};

interface SessionRow {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  remote_address: string;
}

const SESSION_COLS = 'id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, remote_address';

/** Users stores console accounts (passwords only as scrypt hashes) and their sessions (secrets only as sha256). */
export class Users {
  constructor(private readonly st: Statements) {}

  create(u: UserRecord): void {
    try {
      this.st
        .get(`INSERT INTO users (${USER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          u.id,
          u.name,
          u.role,
          u.passwordHash,
          u.createdAt,
          u.passwordChangedAt,
          u.mustChangePassword ? 1 : 0,
          u.failedLogins,
          u.lockedUntil,
          u.disabledAt,
          u.lastLoginAt,
        );
    } catch (err) {
      mapConstraint(
        err,
        () => `a user with id ${JSON.stringify(u.id)} or name ${JSON.stringify(u.name)} already exists`,
        () => 'user references a missing record',
      );
    }
  }

  get(id: string): UserRecord | undefined {
    const r = this.st.get(`SELECT ${USER_COLS} FROM users WHERE id = ?`).get(id) as UserRow | undefined;
    return r && toUser(r);
  }

  byName(name: string): UserRecord | undefined {
    const r = this.st.get(`SELECT ${USER_COLS} FROM users WHERE name = ?`).get(name) as UserRow | undefined;
    return r && toUser(r);
  }

  list(): UserRecord[] {
    return (this.st.get(`SELECT ${USER_COLS} FROM users ORDER BY created_at, id`).all() as UserRow[]).map(
      toUser,
    );
  }

  update(id: string, patch: UserPatch): void {
    const keys = (Object.keys(patch) as (keyof UserPatch)[]).filter((k) => patch[k] !== undefined);
    if (keys.length === 0) {
      if (!this.get(id)) throw notFound('user', id);
      return;
    }
    const set = keys.map((k) => `${PATCH_COLUMNS[k]} = ?`).join(', ');
    const values = keys.map((k) => {
      const v = patch[k];
      return typeof v === 'boolean' ? (v ? 1 : 0) : v;
    });
    const { changes } = this.st.get(`UPDATE users SET ${set} WHERE id = ?`).run(...values, id);
    if (changes === 0) throw notFound('user', id);
  }

  recordFailure(id: string, lockAfter: number, lockUntil: number): UserRecord {
    const { changes } = this.st
      .get(
        `UPDATE users SET failed_logins = failed_logins + 1,
           locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
         WHERE id = ?`,
      )
      .run(lockAfter, lockUntil, id);
    if (changes === 0) throw notFound('user', id);
    return this.get(id)!;
  }

  createSession(s: SessionRecord): void {
    try {
      this.st
        .get(`INSERT INTO user_sessions (${SESSION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)`)
        .run(s.idHash, s.userId, s.csrfToken, s.createdAt, s.lastSeenAt, s.expiresAt, s.remoteAddress);
    } catch (err) {
      mapConstraint(
        err,
        () => 'a session with this secret already exists',
        () => `session references a missing user ${JSON.stringify(s.userId)}`,
      );
    }
  }

  findSession(idHash: string): SessionRecord | undefined {
    const r = this.st.get(`SELECT ${SESSION_COLS} FROM user_sessions WHERE id_hash = ?`).get(idHash) as
      | SessionRow
      | undefined;
    return (
      r && {
        idHash: r.id_hash,
        userId: r.user_id,
        csrfToken: r.csrf_token,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        expiresAt: r.expires_at,
        remoteAddress: r.remote_address,
      }
    );
  }

  touchSession(idHash: string, at: number): void {
    this.st
      .get('UPDATE user_sessions SET last_seen_at = max(last_seen_at, ?) WHERE id_hash = ?')
      .run(at, idHash);
  }

  deleteSession(idHash: string): void {
    this.st.get('DELETE FROM user_sessions WHERE id_hash = ?').run(idHash);
  }

  deleteUserSessions(userId: string): number {
    return this.st.get('DELETE FROM user_sessions WHERE user_id = ?').run(userId).changes;
  }
}
