import { PalisadeError } from '@palisade/common';
import type { PlaybookService } from '../playbooks/playbook-service.js';
import { playbookView, runView } from '../playbooks/playbook-view.js';
import type { ApiContext, ApiRoute } from './context.js';
import { actorOf } from './response.js';
import {
  cursor,
  type JsonSchema,
  limit,
  NO_BODY,
  NO_QUERY,
  object,
  oneOf,
  optionalBody,
  text,
} from './schema.js';

function service(ctx: ApiContext): PlaybookService {
  if (!ctx.playbooks) throw new PalisadeError('unavailable', 'playbooks are not available on this server');
  return ctx.playbooks;
}

const refParams = object({ ref: text(128, 'a playbook name or id') }, ['ref']);
type Ref = { ref: string };
const list = (item: JsonSchema, what: string): JsonSchema => ({
  type: 'array',
  maxItems: 100,
  items: item,
  description: what,
});
const count = (max: number, what: string): JsonSchema => ({
  type: 'integer',
  minimum: 0,
  maximum: max,
  description: what,
});

const PLAYBOOK_BODY = object(
  {
    name: text(63, 'a playbook name'),
    description: { type: 'string', maxLength: 1000, description: 'a description of at most 1000 characters' },
    enabled: { type: 'boolean', description: 'true or false' },
    dry_run: { type: 'boolean', description: 'true or false' },
    match: object({
      rule_ids: list(text(256, 'a rule id'), 'a list of rule ids'),
      tags: list(text(128, 'a tag'), 'a list of tags'),
      min_severity: oneOf(
        ['informational', 'low', 'medium', 'high', 'critical'],
        'a severity (informational, low, medium, high, critical)',
      ),
      groups: list(text(128, 'a group name or id'), 'a list of groups'),
      hosts: list(text(253, 'a host name or agent id'), 'a list of hosts'),
    }),
    actions: {
      type: 'array',
      minItems: 1,
      maxItems: 10,
      description: 'a list of 1-10 actions',
      items: object(
        {
          type: text(32, 'an action type (isolate, kill_process, quarantine_file, webhook)'),
          url: text(2048, 'a webhook URL'),
          tree: { type: 'boolean', description: 'true or false' },
        },
        ['type'],
      ),
    },
    max_isolations_per_hour: count(1000, 'a whole number from 0 to 1000'),
    max_runs_per_hour: count(100_000, 'a whole number from 0 to 100000'),
  },
  ['name', 'actions'],
);

/** PLAYBOOK_ROUTES manage playbooks and show their runs (docs/response.md, "Playbooks"). */
export const PLAYBOOK_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/playbooks',
    schema: { summary: 'List playbooks', querystring: NO_QUERY },
    async handler(_req, ctx) {
      return { playbooks: (await ctx.storage.listPlaybooks()).map(playbookView) };
    },
  },
  {
    method: 'POST',
    url: '/playbooks',
    status: 201,
    schema: {
      summary: 'Create a playbook (its webhook secret, when it has a webhook, is in this answer only)',
      body: PLAYBOOK_BODY,
    },
    async handler(req, ctx) {
      const r = await service(ctx).create(req.body as Record<string, unknown>, actorOf(req), req.ip);
      return { playbook: playbookView(r.playbook), webhook_secret: r.secret };
    },
  },
  {
    method: 'GET',
    url: '/playbooks/:ref',
    schema: { summary: 'One playbook', params: refParams, querystring: NO_QUERY },
    async handler(req, ctx) {
      return { playbook: playbookView(await service(ctx).find((req.params as Ref).ref)) };
    },
  },
  {
    method: 'POST',
    url: '/playbooks/:ref/enable',
    schema: {
      summary: 'Enable a playbook (dry_run switches dry run on or off at the same time)',
      params: refParams,
      body: optionalBody({ dry_run: { type: 'boolean', description: 'true or false' } }),
    },
    async handler(req, ctx) {
      const b = (req.body ?? {}) as { dry_run?: boolean };
      const p = await service(ctx).setEnabled((req.params as Ref).ref, true, b.dry_run, actorOf(req), req.ip);
      return { playbook: playbookView(p) };
    },
  },
  {
    method: 'POST',
    url: '/playbooks/:ref/disable',
    schema: { summary: 'Disable a playbook', params: refParams, body: NO_BODY },
    async handler(req, ctx) {
      const p = await service(ctx).setEnabled(
        (req.params as Ref).ref,
        false,
        undefined,
        actorOf(req),
        req.ip,
      );
      return { playbook: playbookView(p) };
    },
  },
  {
    method: 'DELETE',
    url: '/playbooks/:ref',
    schema: { summary: 'Delete a playbook (its runs stay)', params: refParams, querystring: NO_QUERY },
    async handler(req, ctx) {
      const p = await service(ctx).delete((req.params as Ref).ref, actorOf(req), req.ip);
      return { deleted: playbookView(p) };
    },
  },
  {
    method: 'GET',
    url: '/playbooks/:ref/runs',
    schema: {
      summary: "A playbook's runs, newest first",
      params: refParams,
      querystring: object({ limit, cursor }),
    },
    async handler(req, ctx) {
      const p = await service(ctx).find((req.params as Ref).ref);
      return runsPage(ctx, { playbookId: p.id }, req.query as { limit?: number; cursor?: string });
    },
  },
  {
    method: 'GET',
    url: '/playbook-runs',
    schema: {
      summary: 'Playbook runs, newest first, for one alert or all',
      querystring: object({ alert_id: text(128, 'an alert id'), limit, cursor }),
    },
    async handler(req, ctx) {
      const q = req.query as { alert_id?: string; limit?: number; cursor?: string };
      return runsPage(ctx, q.alert_id ? { alertId: q.alert_id } : {}, q);
    },
  },
];

async function runsPage(
  ctx: ApiContext,
  filter: { playbookId?: string; alertId?: string },
  q: { limit?: number; cursor?: string },
): Promise<object> {
  try {
    const page = await ctx.storage.listPlaybookRuns({
      ...filter,
      limit: q.limit ?? 100,
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return { runs: page.runs.map(runView), next_cursor: page.nextCursor ?? null };
  } catch (err) {
    if (q.cursor !== undefined && err instanceof PalisadeError && err.status === 400)
      throw new PalisadeError('validation_failed', 'parameter cursor: not a cursor from this server');
    throw err;
  }
}
