import { PalisadeError, LogLimiter } from '@palisade/common';
import { CLASSES, CLASS_ALIASES, type DeviceInfo, toOcsf } from '@palisade/protocol';
import type { AgentRecord, EventPage, EventQuery } from '@palisade/storage';
import type { ApiContext, ApiRoute } from './context.js';
import { parseTime } from './params.js';
import { cursor, limit, object, text, time, uuid } from './schema.js';

/** EventQueryString is the query string of `GET /api/v1/events`, once its schema has checked it. */
export interface EventQueryString {
  agent_id?: string;
  class?: string;
  activity?: string;
  from?: string;
  to?: string;
  contains?: string;
  limit?: number;
  cursor?: string;
}

/** EVENT_QUERY is the schema of that query string. */
export const EVENT_QUERY = object({
  agent_id: uuid,
  class: text(64, `a class name (${Object.keys(CLASS_ALIASES).join(', ')}) or a class_uid`),
  activity: text(64, 'an activity id or, with class, its name'),
  from: time,
  to: time,
  contains: text(1024, 'a substring of command line, path, names or raw data'),
  limit,
  cursor,
});

function parseClass(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const alias = CLASS_ALIASES[v.toLowerCase()];
  if (alias !== undefined) return alias;
  if (/^\d+$/.test(v) && CLASSES[Number(v)]) return Number(v);
  throw new PalisadeError(
    'validation_failed',
    `parameter class: "${v}" is not a known class (names: ${Object.keys(CLASS_ALIASES).join(', ')}; or a class_uid)`,
  );
}

function parseActivity(v: string | undefined, classUid: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n > 255) throw new PalisadeError('validation_failed', `parameter activity: ${n} is above 255`);
    return n;
  }
  // A name needs the class to resolve: "launch" means 1 for process activity.
  const acts = classUid !== undefined ? CLASSES[classUid]?.activities : undefined;
  const hit = acts && Object.entries(acts).find(([, name]) => name.toLowerCase() === v.toLowerCase());
  if (!hit) {
    throw new PalisadeError(
      'validation_failed',
      `parameter activity: "${v}" is not a number${classUid ? ' nor an activity of that class' : ' (names need class)'}`,
    );
  }
  return Number(hit[0]);
}

/** parseEventQuery turns the (schema-checked) query string into an EventQuery, naming any bad parameter. */
export function parseEventQuery(q: EventQueryString): EventQuery {
  const classUid = parseClass(q.class);
  const out: EventQuery = { limit: q.limit ?? 100 };
  if (q.agent_id) out.agentId = q.agent_id.toLowerCase();
  if (classUid !== undefined) out.classUid = classUid;
  const activity = parseActivity(q.activity, classUid);
  if (activity !== undefined) out.activityId = activity;
  const from = parseTime(q.from, 'from');
  const to = parseTime(q.to, 'to');
  if (from !== undefined) out.fromMs = from;
  if (to !== undefined) out.toMs = to;
  if (from !== undefined && to !== undefined && to < from) {
    throw new PalisadeError('validation_failed', 'parameter to: must not be before from');
  }
  if (q.contains !== undefined) out.contains = q.contains;
  if (q.cursor !== undefined) out.cursor = q.cursor;
  return out;
}

/** device is the OCSF device of an agent (empty facts when it is unknown). */
export function device(a: AgentRecord | undefined, agentId: string): DeviceInfo {
  const h = a?.host;
  return {
    agentId,
    hostname: h?.hostname ?? '',
    os: h?.os ?? '',
    osVersion: h?.osVersion ?? '',
    kernel: h?.kernel ?? '',
    arch: h?.arch ?? '',
    machineId: h?.machineId ?? '',
    agentVersion: h?.agentVersion ?? '',
  };
}

/** Skipped batches are logged at most 5 times a minute per server (each line lists a page's). */
const skipLogs = new WeakMap<ApiContext, LogLimiter>();

function logSkipped(ctx: ApiContext, skipped: NonNullable<EventPage['skipped']>): void {
  let limit = skipLogs.get(ctx);
  if (!limit) {
    limit = new LogLimiter({ burst: 5, perSecond: 5 / 60, now: () => ctx.clock.now() });
    skipLogs.set(ctx, limit);
  }
  const suppressed = limit.take('skipped');
  if (suppressed === undefined) return;
  ctx.logger.warn(
    {
      skipped: skipped
        .slice(0, 10)
        .map((b) => ({ agentId: b.agentId, seq: b.seq.toString(), reason: b.reason })),
      count: skipped.length,
      suppressedLines: suppressed,
    },
    'event search skipped stored batches that cannot be decoded',
  );
}

/** EVENT_ROUTES search stored events and return them as OCSF JSON. */
export const EVENT_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/events',
    schema: {
      summary: 'Search stored events (OCSF JSON), newest first, paged by cursor',
      querystring: EVENT_QUERY,
    },
    async handler(req, ctx: ApiContext) {
      const query = parseEventQuery(req.query as EventQueryString);
      let page: Awaited<ReturnType<typeof ctx.storage.searchEvents>>;
      try {
        page = await ctx.storage.searchEvents(query);
      } catch (err) {
        // A cursor is opaque: the store refuses one it did not hand out.
        if (query.cursor !== undefined && (!(err instanceof PalisadeError) || err.status === 400)) {
          throw new PalisadeError(
            'validation_failed',
            `parameter cursor: not a cursor from this server (${(err as Error).message})`,
          );
        }
        throw err;
      }
      const skipped = page.skipped ?? [];
      if (skipped.length) logSkipped(ctx, skipped);
      const agents = new Map<string, AgentRecord | undefined>();
      for (const e of page.events) {
        if (!agents.has(e.agentId)) agents.set(e.agentId, await ctx.storage.getAgent(e.agentId));
      }
      return {
        events: page.events.map((e) =>
          toOcsf(e.event, device(agents.get(e.agentId), e.agentId), e.id, e.receivedAt),
        ),
        next_cursor: page.nextCursor ?? null,
        // Stored batches this page could not decode (their events are missing from it).
        skipped: skipped.map((b) => ({ agent_id: b.agentId, seq: b.seq.toString(), reason: b.reason })),
      };
    },
  },
];
