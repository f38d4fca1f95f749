import { PalisadeError } from '@palisade/common';
import { CLASSES, CLASS_ALIASES, type DeviceInfo, toOcsf } from '@palisade/protocol';
import type { AgentRecord, EventPage, EventQuery } from '@palisade/storage';
import { LogRateLimit } from '../log-rate-limit.js';
import type { ApiContext, ApiRoute } from './context.js';
import { type Query, int, rejectUnknown, str, time, uuid } from './params.js';

/** EVENT_QUERY_PARAMS are the parameters `GET /api/v1/events` takes. */
export const EVENT_QUERY_PARAMS = [
  'agent_id',
  'class',
  'activity',
  'from',
  'to',
  'contains',
  'limit',
  'cursor',
];

function parseClass(q: Query): number | undefined {
  const v = str(q, 'class', 64);
  if (v === undefined) return undefined;
  const alias = CLASS_ALIASES[v.toLowerCase()];
  if (alias !== undefined) return alias;
  if (/^\d+$/.test(v) && CLASSES[Number(v)]) return Number(v);
  throw new PalisadeError(
    'validation_failed',
    `parameter class: "${v}" is not a known class (names: ${Object.keys(CLASS_ALIASES).join(', ')}; or a class_uid)`,
  );
}

function parseActivity(q: Query, classUid: number | undefined): number | undefined {
  const v = str(q, 'activity', 64);
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return int(q, 'activity', 0, 255);
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

/** parseEventQuery turns the query string into an EventQuery, naming any bad parameter. */
export function parseEventQuery(q: Query): EventQuery {
  rejectUnknown(q, EVENT_QUERY_PARAMS);
  const classUid = parseClass(q);
  const out: EventQuery = { limit: int(q, 'limit', 1, 1000) ?? 100 };
  const agentId = uuid(q, 'agent_id');
  if (agentId) out.agentId = agentId;
  if (classUid !== undefined) out.classUid = classUid;
  const activity = parseActivity(q, classUid);
  if (activity !== undefined) out.activityId = activity;
  const from = time(q, 'from');
  const to = time(q, 'to');
  if (from !== undefined) out.fromMs = from;
  if (to !== undefined) out.toMs = to;
  if (from !== undefined && to !== undefined && to < from) {
    throw new PalisadeError('validation_failed', 'parameter to: must not be before from');
  }
  const contains = str(q, 'contains', 1024);
  if (contains !== undefined) out.contains = contains;
  const cursor = str(q, 'cursor', 512);
  if (cursor !== undefined) out.cursor = cursor;
  return out;
}

function device(a: AgentRecord | undefined, agentId: string): DeviceInfo {
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
const skipLogs = new WeakMap<ApiContext, LogRateLimit>();

function logSkipped(ctx: ApiContext, skipped: NonNullable<EventPage['skipped']>): void {
  let limit = skipLogs.get(ctx);
  if (!limit) {
    limit = new LogRateLimit(5, 60_000, () => ctx.clock.now());
    skipLogs.set(ctx, limit);
  }
  const ok = limit.take();
  if (!ok) return;
  ctx.logger.warn(
    {
      skipped: skipped
        .slice(0, 10)
        .map((b) => ({ agentId: b.agentId, seq: b.seq.toString(), reason: b.reason })),
      count: skipped.length,
      suppressedLines: ok.suppressed,
    },
    'event search skipped stored batches that cannot be decoded',
  );
}

/** EVENT_ROUTES search stored events and return them as OCSF JSON. */
export const EVENT_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/events',
    async handler(req, ctx: ApiContext) {
      const query = parseEventQuery(req.query as Query);
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
