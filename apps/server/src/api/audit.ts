import { PalisadeError } from '@palisade/common';
import type { AuditQuery, AuditRecord } from '@palisade/storage';
import type { ApiRoute } from './context.js';
import { type Query, int, rejectUnknown, str, time } from './params.js';

/** AUDIT_QUERY_PARAMS are the parameters `GET /api/v1/audit` takes. */
export const AUDIT_QUERY_PARAMS = ['actor', 'action', 'target', 'outcome', 'from', 'to', 'limit', 'cursor'];

/** parseAuditQuery turns the query string into an AuditQuery, naming any bad parameter. */
export function parseAuditQuery(q: Query): AuditQuery {
  rejectUnknown(q, AUDIT_QUERY_PARAMS);
  const out: AuditQuery = { limit: int(q, 'limit', 1, 1000) ?? 100 };
  const actor = str(q, 'actor', 128);
  const action = str(q, 'action', 64);
  const target = str(q, 'target', 128);
  const outcome = str(q, 'outcome', 16);
  if (outcome !== undefined && outcome !== 'ok' && outcome !== 'denied') {
    throw new PalisadeError('validation_failed', `parameter outcome: "${outcome}" is not one of ok, denied`);
  }
  const from = time(q, 'from');
  const to = time(q, 'to');
  if (from !== undefined && to !== undefined && to < from) {
    throw new PalisadeError('validation_failed', 'parameter to: must not be before from');
  }
  const cursor = str(q, 'cursor', 64);
  if (actor !== undefined) out.actor = actor;
  if (action !== undefined) out.action = action;
  if (target !== undefined) out.targetId = target;
  if (outcome !== undefined) out.outcome = outcome;
  if (from !== undefined) out.fromMs = from;
  if (to !== undefined) out.toMs = to;
  if (cursor !== undefined) out.cursor = cursor;
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
    async handler(req, ctx) {
      const query = parseAuditQuery(req.query as Query);
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
