import { type ApiTarget, apiCall } from '../client.js';
import { printJson } from '../output.js';
import { formatTable } from '../table.js';
import { safe } from '../terminal-text.js';

interface User {
  id: string;
  name: string;
  role: string;
  status: string;
  must_change_password: boolean;
  last_login_at: string | null;
}

const enc = encodeURIComponent;

/** usersList prints the console users (never their passwords). */
export async function usersList(target: ApiTarget, json: boolean): Promise<void> {
  const { users } = await apiCall<{ users: User[] }>(target, 'GET', '/users');
  if (json) return printJson(users);
  const rows = users.map((u) => [
    u.name,
    u.role,
    u.status + (u.must_change_password ? ' (must change password)' : ''),
    u.last_login_at ? u.last_login_at.slice(0, 16).replace('T', ' ') : 'never',
    u.id,
  ]);
  process.stdout.write(`${formatTable(['NAME', 'ROLE', 'STATUS', 'LAST LOGIN', 'ID'], rows)}\n`);
}

/**
 * usersCreate creates a console user; the server generates a temporary password, printed this once,
 * which the user must change at first login (no password ever goes on a command line).
 */
export async function usersCreate(
  target: ApiTarget,
  name: string,
  role: string,
  json: boolean,
): Promise<void> {
  const res = await apiCall<{ user: User; password: string }>(target, 'POST', '/users', { name, role });
  if (json) return printJson(res);
  process.stdout.write(
    safe`created ${res.user.role} user "${res.user.name}"\ntemporary password (shown once; changed at first login): ${res.password}\n`,
  );
}

/** usersAct runs reset-password, unlock, disable, enable or set-role on a user by name or id. */
export async function usersAct(
  target: ApiTarget,
  action: 'reset-password' | 'unlock' | 'disable' | 'enable' | 'set-role',
  ref: string,
  json: boolean,
  role?: string,
): Promise<void> {
  const res =
    action === 'reset-password' || action === 'unlock'
      ? await apiCall<{ user: User; password?: string }>(target, 'POST', `/users/${enc(ref)}/${action}`)
      : await apiCall<{ user: User; password?: string }>(
          target,
          'PATCH',
          `/users/${enc(ref)}`,
          action === 'set-role' ? { role } : { disabled: action === 'disable' },
        );
  if (json) return printJson(res);
  process.stdout.write(safe`user "${res.user.name}": ${res.user.role}, ${res.user.status}\n`);
  if (res.password) process.stdout.write(safe`temporary password (shown once): ${res.password}\n`);
}
