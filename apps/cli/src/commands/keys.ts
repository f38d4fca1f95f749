import { type ApiTarget, apiCall } from '../client.js';
import { isoTime, printJson } from '../output.js';
import { formatTable } from '../table.js';

type Key = Record<string, any>;

function status(k: Key, now = Date.now()): string {
  if (k.revokedAt || k.revoked_at) return 'revoked';
  const exp = k.expiresAt ?? k.expires_at;
  if (typeof exp === 'number' && exp <= now) return 'expired';
  return 'active';
}

/** keysList prints every registration key (never the secret: only its prefix). */
export async function keysList(target: ApiTarget, json: boolean): Promise<void> {
  const res = await apiCall<{ keys: Key[] }>(target, 'GET', '/keys');
  if (json) return printJson(res.keys);
  const rows = res.keys.map((k) => [
    k.id,
    k.groupName ?? k.group ?? k.groupId,
    `${k.prefix}…`,
    isoTime(k.createdAt ?? k.created_at).slice(0, 10),
    isoTime(k.expiresAt ?? k.expires_at).slice(0, 10),
    status(k),
    k.registrations ?? k.agentCount ?? 0,
  ]);
  process.stdout.write(
    `${formatTable(['ID', 'GROUP', 'KEY', 'CREATED', 'EXPIRES', 'STATUS', 'AGENTS'], rows)}\n`,
  );
}

/** keysCreate creates a key and prints its secret, which is shown this once only. */
export async function keysCreate(target: ApiTarget, group: string | undefined, json: boolean): Promise<void> {
  const res = await apiCall<{ key: Key; secret: string }>(target, 'POST', '/keys', group ? { group } : {});
  if (json) return printJson(res);
  process.stdout.write(
    `created registration key ${res.key.id} (expires ${isoTime(res.key.expiresAt ?? res.key.expires_at)})\n` +
      `secret (shown once, store it now): ${res.secret}\n`,
  );
}

/** keysRevoke revokes a key: new registrations with it are refused at once. */
export async function keysRevoke(target: ApiTarget, id: string, json: boolean): Promise<void> {
  const res = await apiCall<{ key: Key }>(target, 'POST', `/keys/${encodeURIComponent(id)}/revoke`);
  if (json) return printJson(res);
  process.stdout.write(`revoked registration key ${id}\n`);
}
