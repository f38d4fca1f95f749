import { type ApiTarget, apiCall, withQuery } from '../client.js';
import { printJson } from '../output.js';
import { formatTable } from '../table.js';
import { safe } from '../terminal-text.js';

const enc = encodeURIComponent;

/** agentsMove moves an agent to another group (its policy follows). */
export async function agentsMove(target: ApiTarget, id: string, group: string, json: boolean): Promise<void> {
  const res = await apiCall<{ group: string }>(target, 'POST', `/agents/${enc(id)}/move`, { group });
  if (json) return printJson(res);
  process.stdout.write(safe`moved agent ${id} to group ${res.group}\n`);
}

/** agentsDecommission decommissions an agent: its credential is refused from now on, its data stays. */
export async function agentsDecommission(target: ApiTarget, id: string, json: boolean): Promise<void> {
  const res = await apiCall<object>(target, 'POST', `/agents/${enc(id)}/decommission`);
  if (json) return printJson(res);
  process.stdout.write(safe`decommissioned agent ${id}; its data stays searchable\n`);
}

/**
 * agentsRevoke revokes an agent's credential: its sessions close at once, its certificate is
 * refused everywhere from now on; the host needs a registration key to enrol again.
 */
export async function agentsRevoke(
  target: ApiTarget,
  id: string,
  reason: string | undefined,
  json: boolean,
): Promise<void> {
  const res = await apiCall<object>(
    target,
    'POST',
    `/agents/${enc(id)}/revoke`,
    reason === undefined ? {} : { reason },
  );
  if (json) return printJson(res);
  process.stdout.write(
    `revoked the credential of agent ${id}; its connections are closed and its certificate is refused from now on (re-enrolment needs a registration key)\n`,
  );
}

/** keysClaim prints the secret of an automatically generated key, which can be claimed once. */
export async function keysClaim(target: ApiTarget, id: string, json: boolean): Promise<void> {
  const res = await apiCall<{ secret: string }>(target, 'POST', `/keys/${enc(id)}/claim`);
  if (json) return printJson(res);
  process.stdout.write(safe`secret (shown once, store it now): ${res.secret}\n`);
}

interface Token {
  id: string;
  name: string;
  role: string;
  created_at: string;
  expires_at: string | null;
  status: string;
}

/** tokensList prints the API tokens (never their secrets). */
export async function tokensList(target: ApiTarget, json: boolean): Promise<void> {
  const { tokens } = await apiCall<{ tokens: Token[] }>(target, 'GET', '/tokens');
  if (json) return printJson(tokens);
  const rows = tokens.map((t) => [
    t.id,
    t.name,
    t.role,
    t.created_at.slice(0, 10),
    t.expires_at ? t.expires_at.slice(0, 16).replace('T', ' ') : 'never',
    t.status,
  ]);
  process.stdout.write(`${formatTable(['ID', 'NAME', 'ROLE', 'CREATED', 'EXPIRES', 'STATUS'], rows)}\n`);
}

/**
 * tokensCreate creates a named token and prints its secret, shown this once only. `expiresIn` (a
 * duration such as 90d, 12h, 2w) or `expiresAt` (ISO 8601) make it stop working then.
 */
export async function tokensCreate(
  target: ApiTarget,
  o: { name: string; role: string; expiresIn?: string | undefined; expiresAt?: string | undefined },
  json: boolean,
): Promise<void> {
  const body = {
    name: o.name,
    role: o.role,
    ...(o.expiresIn !== undefined ? { expires_in: o.expiresIn } : {}),
    ...(o.expiresAt !== undefined ? { expires_at: o.expiresAt } : {}),
  };
  const res = await apiCall<{ token: Token; secret: string }>(target, 'POST', '/tokens', body);
  if (json) return printJson(res);
  const until = res.token.expires_at ? `, expires ${res.token.expires_at}` : '';
  process.stdout.write(
    safe`created ${res.token.role} token "${res.token.name}" (${res.token.id}${until})\nsecret (shown once, store it now): ${res.secret}\n`,
  );
}

/** tokensRevoke revokes a token: it is refused from now on. */
export async function tokensRevoke(target: ApiTarget, id: string, json: boolean): Promise<void> {
  const res = await apiCall<{ token: Token }>(target, 'POST', `/tokens/${enc(id)}/revoke`);
  if (json) return printJson(res);
  process.stdout.write(safe`revoked token "${res.token.name}"\n`);
}

interface AuditEntry {
  id: string;
  at: string;
  actor: { id: string | null; name: string };
  action: string;
  target: { type: string; id: string | null };
  remote_address: string;
  outcome: string;
  details: Record<string, unknown>;
}

/** auditSearch prints audit entries, newest first, with the cursor of the next page. */
export async function auditSearch(
  target: ApiTarget,
  query: Record<string, string | undefined>,
  json: boolean,
): Promise<void> {
  const res = await apiCall<{ entries: AuditEntry[]; next_cursor: string | null }>(
    target,
    'GET',
    withQuery('/audit', query),
  );
  if (json) return printJson(res);
  const rows = res.entries.map((e) => [
    e.at,
    e.actor.name,
    e.action,
    `${e.target.type}${e.target.id ? ` ${e.target.id}` : ''}`,
    e.remote_address || '-',
    e.outcome,
  ]);
  process.stdout.write(`${formatTable(['TIME', 'WHO', 'ACTION', 'TARGET', 'FROM', 'OUTCOME'], rows)}\n`);
  if (res.next_cursor) process.stdout.write(safe`more: --cursor ${res.next_cursor}\n`);
}
