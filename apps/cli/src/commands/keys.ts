import { type ApiTarget, apiCall, CliError } from '../client.js';
import { printJson } from '../output.js';
import { formatTable } from '../table.js';
import { safe } from '../terminal-text.js';

/** Key is a registration key as the API returns it (never with its secret). */
interface Key {
  id: string;
  prefix: string;
  group: string;
  created_at: string;
  expires_at: string;
  status: string;
  registrations: number;
  max_uses: number | null;
}

/** usesCell is the USES column: registrations so far, and the quota when the key has one. */
export function usesCell(k: Pick<Key, 'registrations' | 'max_uses'>): string {
  return k.max_uses === null || k.max_uses === undefined
    ? String(k.registrations)
    : `${k.registrations}/${k.max_uses}`;
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
    usesCell(k),
  ]);
  process.stdout.write(
    `${formatTable(['ID', 'GROUP', 'KEY', 'CREATED', 'EXPIRES', 'STATUS', 'USES'], rows)}\n`,
  );
}

/**
 * keysCreate creates a key and prints its secret, which is shown this once only. `maxUses` caps how
 * many agents may register with it.
 */
export async function keysCreate(
  target: ApiTarget,
  o: { group?: string | undefined; maxUses?: string | undefined },
  json: boolean,
): Promise<void> {
  if (o.maxUses !== undefined && !/^[1-9]\d*$/.test(o.maxUses))
    throw new CliError(`--max-uses must be a whole number from 1, got '${o.maxUses}'`, 2);
  const body = {
    ...(o.group ? { group: o.group } : {}),
    ...(o.maxUses !== undefined ? { max_uses: Number(o.maxUses) } : {}),
  };
  const res = await apiCall<{ key: Key; secret: string }>(target, 'POST', '/keys', body);
  if (json) return printJson(res);
  const quota = res.key.max_uses === null ? '' : `, at most ${res.key.max_uses} registrations`;
  process.stdout.write(
    safe`created registration key ${res.key.id} for group ${res.key.group} (expires ${res.key.expires_at}${quota})\n` +
      safe`secret (shown once, store it now): ${res.secret}\n`,
  );
}

/** keysRevoke revokes a key: new registrations with it are refused at once. */
export async function keysRevoke(target: ApiTarget, id: string, json: boolean): Promise<void> {
  const res = await apiCall<{ key: Key }>(target, 'POST', `/keys/${encodeURIComponent(id)}/revoke`);
  if (json) return printJson(res);
  process.stdout.write(safe`revoked registration key ${id}\n`);
}
