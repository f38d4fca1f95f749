import { type ApiTarget, apiCall } from '../client.js';
import { printJson } from '../output.js';
import { formatTable } from '../table.js';

/** Key is a registration key as the API returns it (never with its secret). */
interface Key {
  id: string;
  prefix: string;
  group: string;
  created_at: string;
  expires_at: string;
  status: string;
  registrations: number;
}

/** keysList prints every registration key: only a prefix of each secret, never the secret. */
export async function keysList(target: ApiTarget, json: boolean, group?: string): Promise<void> {
  const path = group ? `/keys?group=${encodeURIComponent(group)}` : '/keys';
  const { keys } = await apiCall<{ keys: Key[] }>(target, 'GET', path);
  if (json) return printJson(keys);
  const rows = keys.map((k) => [
    k.id,
    k.group,
    `${k.prefix}…`,
    k.created_at.slice(0, 10),
    k.expires_at.slice(0, 10),
    k.status,
    k.registrations,
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
    `created registration key ${res.key.id} for group ${res.key.group} (expires ${res.key.expires_at})\n` +
      `secret (shown once, store it now): ${res.secret}\n`,
  );
}

/** keysRevoke revokes a key: new registrations with it are refused at once. */
export async function keysRevoke(target: ApiTarget, id: string, json: boolean): Promise<void> {
  const res = await apiCall<{ key: Key }>(target, 'POST', `/keys/${encodeURIComponent(id)}/revoke`);
  if (json) return printJson(res);
  process.stdout.write(`revoked registration key ${id}\n`);
}
