import { PalisadeError } from '@palisade/common';

/**
 * EVENTS_PER_BATCH_ID is the id space of one batch: an event's id is
 * `batchRowId * EVENTS_PER_BATCH_ID + index`, so ids are unique, increase in storage order, stay
 * exact as JS numbers for 9e10 batches, and read as plain decimal numbers. It is also the most
 * events one stored batch may hold (the wire limit is far lower).
 */
export const EVENTS_PER_BATCH_ID = 100_000;

/** eventId builds the id of event `index` of stored batch `batchId`. */
export function eventId(batchId: number, index: number): string {
  return String(batchId * EVENTS_PER_BATCH_ID + index);
}

/** Position is where paging resumes: events strictly older than (batchId, index). */
export interface Position {
  batchId: number;
  index: number;
}

/** encodeCursor turns the last event of a page into the cursor of the next page (its id). */
export function encodeCursor(p: Position): string {
  return eventId(p.batchId, p.index);
}

/** decodeCursor parses a cursor from `encodeCursor`, refusing anything else with bad_request. */
export function decodeCursor(cursor: string): Position {
  if (!/^[0-9]{1,16}$/.test(cursor)) {
    throw new PalisadeError(
      'bad_request',
      `invalid cursor ${JSON.stringify(cursor.slice(0, 40))}: pass nextCursor as returned`,
    );
  }
  const n = Number(cursor);
  if (!Number.isSafeInteger(n)) {
    throw new PalisadeError('bad_request', `invalid cursor ${JSON.stringify(cursor)}: out of range`);
  }
  return { batchId: Math.floor(n / EVENTS_PER_BATCH_ID), index: n % EVENTS_PER_BATCH_ID };
}
