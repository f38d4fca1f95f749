import { type Event, searchText } from '@palisade/protocol';
import { PalisadeError } from '@palisade/common';
import type { EventQuery } from './types.js';

/**
 * eventMatches tells whether one event passes the per-event filters of a query: class, activity,
 * time range (`fromMs` inclusive, `toMs` exclusive) and the case-sensitive `contains` substring
 * over `searchText(event)`. The agent filter and paging are the back end's job. Every back end
 * uses this one definition so that searches mean the same thing everywhere.
 */
export function eventMatches(e: Event, q: Omit<EventQuery, 'limit' | 'cursor' | 'agentId'>): boolean {
  if (q.classUid !== undefined && e.classUid !== q.classUid) return false;
  if (q.activityId !== undefined && e.activityId !== q.activityId) return false;
  if (q.fromMs !== undefined || q.toMs !== undefined) {
    const t = Number(e.timeMs);
    if (q.fromMs !== undefined && t < q.fromMs) return false;
    if (q.toMs !== undefined && t >= q.toMs) return false;
  }
  if (q.contains) return searchText(e).includes(q.contains);
  return true;
}

/**
 * validateEventQuery refuses queries no back end can answer sensibly, with an error naming the
 * field: a limit that is not a positive integer, or a non-integer bound.
 */
export function validateEventQuery(q: EventQuery): void {
  if (!Number.isSafeInteger(q.limit) || q.limit < 1) {
    throw new PalisadeError('bad_request', `limit must be a positive integer, got ${String(q.limit)}`);
  }
  for (const k of ['classUid', 'activityId', 'fromMs', 'toMs'] as const) {
    const v = q[k];
    if (v !== undefined && !Number.isSafeInteger(v)) {
      throw new PalisadeError('bad_request', `${k} must be an integer, got ${String(v)}`);
    }
  }
}
