import { PalisadeError } from '@palisade/common';
import type { AuditQuery, AuditRecord } from '@palisade/storage';
import type { ApiRoute } from './context.js';
import { parseTime } from './params.js';
import { limit, object, oneOf, text, time } from './schema.js';

/** AuditQueryString is the query string of `GET /api/v1/audit`, once its schema has checked it. */
export interface AuditQueryString {
  actor?: string;
  action?: string;
  target?: string;
  outcome?: 'ok' | 'denied';
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

/** AUDIT_QUERY is the schema of that query string. */
export const AUDIT_QUERY = object({
  actor: text(128, 'a token id or name, "system", or "agent:<id>"'),
  action: text(64, 'an action ("agent.move") or its prefix ("agent")'),
  target: text(128, 'the id of what was acted on'),
  outcome: oneOf(['ok', 'denied']),
  from: time,
  to: time,
  limit,
  cursor: text(64, 'a cursor from a previous page'),
});

/** parseAuditQuery turns the (schema-checked) query string into an AuditQuery. */
export function parseAuditQuery(q: AuditQueryString): AuditQuery {
  const out: AuditQuery = { limit: q.limit ?? 100 };
  const from = parseTime(q.from, 'from');
  const to = parseTime(q.to, 'to');
  if (from !== undefined && to !== undefined && to < from) {
    throw new PalisadeError('validation_failed', 'parameter to: must not be before from');
  }
  if (q.actor !== undefined) out.actor = q.actor;
  if (q.action !== undefined) out.action = q.action;
  if (q.target !== undefined) out.targetId = q.target;
  if (q.outcome !== undefined) out.outcome = q.outcome;
  if (from !== undefined) out.fromMs = from;
  if (to !== undefined) out.toMs = to;
  if (q.cursor !== undefined) out.cursor = q.cursor;
  return out;
}

/** auditView is the API's JSON for one audit entry. */
export function auditView(e: AuditRecord): object {
  return {
    id: e.id,
    at: new Date(e.at).toISOString(),
    actor: { id: e.actorId, name: e.actorName },
    action: e.action,
    target: { type: e.targetType, id: e.targetId },
    remote_address: e.remoteAddress,
    outcome: e.outcome,
    details: e.details,
  };
}

/** AUDIT_ROUTES search the audit log of administrative actions, newest first. */
export const AUDIT_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/audit',
    schema: { summary: 'Search the audit log, newest first, paged by cursor', querystring: AUDIT_QUERY },
    async handler(req, ctx) {
      const query = parseAuditQuery(req.query as AuditQueryString);
      let page: Awaited<ReturnType<typeof ctx.storage.searchAudit>>;
      try {
        page = await ctx.storage.searchAudit(query);
      } catch (err) {
        if (query.cursor !== undefined && err instanceof PalisadeError && err.status === 400) {
          throw new PalisadeError(
            'validation_failed',
            `parameter cursor: not a cursor from this server (${err.message})`,
          );
        }
        throw err;
      }
      return { entries: page.entries.map(auditView), next_cursor: page.nextCursor ?? null };
    },
  },
];
