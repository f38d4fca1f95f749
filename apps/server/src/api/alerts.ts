import { PalisadeError } from '@palisade/common';
import { ALERT_SEVERITIES, ALERT_STATUSES, type AlertSeverity, type AlertStatus } from '@palisade/storage';
import { toOcsf } from '@palisade/protocol';
import { toDetectionFinding } from '../detection/finding.js';
import type { ApiRoute } from './context.js';
import { cursor, idParams, limit, NO_BODY, NO_QUERY, object, oneOf, text, time, uuid } from './schema.js';
import { device } from './events.js';
import { parseTime } from './params.js';
import { auditRequest } from './route-guard.js';

/** ALERT_ROUTES list, show and triage alerts (OCSF Detection Findings) and report detection lag. */
export const ALERT_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/alerts',
    schema: {
      summary: 'Alerts as OCSF Detection Findings, newest first',
      querystring: object({
        agent_id: uuid,
        rule_id: text(256, 'a Sigma rule id'),
        severity: oneOf(ALERT_SEVERITIES, `a severity (${ALERT_SEVERITIES.join(', ')})`),
        min_severity: oneOf(ALERT_SEVERITIES, 'at least this severity'),
        status: oneOf(ALERT_STATUSES, `a status (${ALERT_STATUSES.join(', ')})`),
        from: time,
        to: time,
        limit,
        cursor,
      }),
    },
    async handler(req, ctx) {
      const q = req.query as Record<string, string | number | undefined>;
      const from = parseTime(q.from as string | undefined, 'from');
      const to = parseTime(q.to as string | undefined, 'to');
      let page: Awaited<ReturnType<typeof ctx.storage.listAlerts>>;
      try {
        page = await ctx.storage.listAlerts({
          limit: (q.limit as number | undefined) ?? 100,
          ...(q.agent_id ? { agentId: String(q.agent_id).toLowerCase() } : {}),
          ...(q.rule_id ? { ruleId: String(q.rule_id) } : {}),
          ...(q.severity ? { severity: q.severity as AlertSeverity } : {}),
          ...(q.min_severity ? { minSeverity: q.min_severity as AlertSeverity } : {}),
          ...(q.status ? { status: q.status as AlertStatus } : {}),
          ...(from !== undefined ? { fromMs: from } : {}),
          ...(to !== undefined ? { toMs: to } : {}),
          ...(q.cursor ? { cursor: String(q.cursor) } : {}),
        });
      } catch (err) {
        if (q.cursor !== undefined && err instanceof PalisadeError && err.status === 400) {
          throw new PalisadeError('validation_failed', 'parameter cursor: not a cursor from this server');
        }
        throw err;
      }
      return { alerts: page.alerts.map(toDetectionFinding), next_cursor: page.nextCursor ?? null };
    },
  },
  {
    method: 'GET',
    url: '/alerts/:id',
    schema: { summary: 'One alert with its evidence events (OCSF)', params: idParams, querystring: NO_QUERY },
    async handler(req, ctx) {
      const id = (req.params as { id: string }).id.toLowerCase();
      const a = await ctx.storage.getAlert(id);
      if (!a) throw new PalisadeError('not_found', `no alert ${id}`);
      const ids = a.evidence.map((e) => e.eventId).filter((x): x is string => x !== null);
      const events = await ctx.storage.getEvents(ids);
      const dev = device(await ctx.storage.getAgent(a.agentId), a.agentId);
      return {
        alert: toDetectionFinding(a),
        events: events.map((e) => toOcsf(e.event, dev, e.id, e.receivedAt)),
      };
    },
  },
  {
    method: 'PATCH',
    url: '/alerts/:id',
    schema: {
      summary: 'Triage an alert: status, assignee, comment',
      params: idParams,
      querystring: NO_QUERY,
      body: object({
        status: oneOf(ALERT_STATUSES, `a status (${ALERT_STATUSES.join(', ')})`),
        assignee: { type: ['string', 'null'], maxLength: 128, description: 'who works on it (null clears)' },
        comment: { type: ['string', 'null'], maxLength: 4096, description: 'a note (null clears)' },
      }),
    },
    async handler(req, ctx) {
      const id = (req.params as { id: string }).id.toLowerCase();
      const b = req.body as { status?: AlertStatus; assignee?: string | null; comment?: string | null };
      if (b.status === undefined && b.assignee === undefined && b.comment === undefined) {
        throw new PalisadeError('validation_failed', 'body: give at least one of status, assignee, comment');
      }
      const before = await ctx.storage.getAlert(id);
      if (!before) throw new PalisadeError('not_found', `no alert ${id}`);
      const a = await ctx.storage.updateAlert(id, b, ctx.clock.now());
      await auditRequest(ctx, req, {
        action: 'alert.update',
        targetType: 'alert',
        targetId: id,
        details: {
          ruleId: a.ruleId,
          ...(b.status !== undefined ? { status: { from: before.status, to: a.status } } : {}),
          ...(b.assignee !== undefined ? { assignee: a.assignee } : {}),
          ...(b.comment !== undefined ? { comment: true } : {}),
        },
      });
      return { alert: toDetectionFinding(a) };
    },
  },
  {
    method: 'GET',
    url: '/detection/status',
    schema: { summary: 'How far detection is behind the newest stored batch', querystring: NO_QUERY },
    async handler(_req, ctx) {
      const lag = await ctx.storage.detectionLag();
      return {
        cursor: lag.cursor,
        newest_batch_id: lag.newestBatchId,
        lag_batches: lag.batches,
        lag_events: lag.events,
        oldest_pending_received_at: lag.oldestPendingReceivedAt,
        lag_ms:
          lag.oldestPendingReceivedAt === null
            ? 0
            : Math.max(0, ctx.clock.now() - lag.oldestPendingReceivedAt),
      };
    },
  },
  {
    method: 'GET',
    url: '/rules',
    schema: {
      summary: 'Every rule the server loaded or could not load, with the reason',
      querystring: NO_QUERY,
    },
    async handler(_req, ctx) {
      if (!ctx.detection) throw new PalisadeError('unavailable', 'detection is off on this server');
      return { rules: ctx.detection.ruleStatuses() };
    },
  },
  {
    method: 'POST',
    url: '/rules/reload',
    schema: {
      summary: 'Load the rule directories again without a restart',
      querystring: NO_QUERY,
      body: NO_BODY,
    },
    async handler(req, ctx) {
      if (!ctx.detection) throw new PalisadeError('unavailable', 'detection is off on this server');
      const rules = await ctx.detection.reload(ctx.detection.rulesConfig);
      await auditRequest(ctx, req, {
        action: 'rules.reload',
        targetType: 'rules',
        targetId: null,
        details: { loaded: rules.filter((r) => r.state === 'loaded').length, total: rules.length },
      });
      return { rules };
    },
  },
];
