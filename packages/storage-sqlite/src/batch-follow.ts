import { PalisadeError } from '@palisade/common';
import { decodeEventBatch } from '@palisade/protocol';
import type { DetectionLag, StoredBatchBody, StoredEvent } from '@palisade/storage';
import { uncompressSync } from 'lz4-napi';
import { decodeCursor, eventId } from './event-id.js';
import type { Statements } from './statements.js';

interface FollowRow {
  id: number;
  agent_id: string;
  seq: bigint;
  received_at: bigint;
  event_count: bigint;
  body: Buffer | null;
}

function unpack(body: Buffer): Uint8Array | string {
  try {
    return uncompressSync(body);
  } catch (err) {
    return `stored body is not a valid LZ4 block (${(err as Error).message})`;
  }
}

/**
 * readBatchesAfter reads stored batches in commit order for detection. Batch row ids are assigned
 * by the single writer inside its write transaction (max + 1), so ids increase in commit order and
 * a reader that has seen id N has seen every committed batch below N.
 */
export function readBatchesAfter(
  st: Statements,
  after: number,
  maxBatches: number,
  maxEvents: number,
): StoredBatchBody[] {
  if (!Number.isSafeInteger(after) || after < 0)
    throw new PalisadeError('bad_request', `batch cursor must be an integer >= 0, got ${after}`);
  if (!Number.isInteger(maxBatches) || maxBatches < 1)
    throw new PalisadeError('bad_request', `maxBatches must be a positive integer, got ${maxBatches}`);
  const rows = st
    .getSafeIntegers(
      `SELECT b.id, b.agent_id, b.seq, b.received_at, b.event_count, d.body
       FROM batches b LEFT JOIN batch_events d ON d.batch_id = b.id
       WHERE b.id > ? ORDER BY b.id LIMIT ?`,
    )
    .iterate(after, maxBatches) as IterableIterator<FollowRow>;
  const out: StoredBatchBody[] = [];
  let events = 0;
  for (const r of rows) {
    const n = Number(r.event_count);
    if (out.length > 0 && events + n > maxEvents) break;
    events += n;
    const base = {
      batchId: Number(r.id),
      agentId: r.agent_id,
      seq: r.seq,
      receivedAt: Number(r.received_at),
      eventCount: n,
    };
    if (!r.body) {
      out.push({ ...base, body: null });
      continue;
    }
    const body = unpack(r.body);
    out.push(typeof body === 'string' ? { ...base, body: null, unreadable: body } : { ...base, body });
  }
  return out;
}

/** detectionLag counts what waits above the cursor. */
export function detectionLag(st: Statements, cursor: number): DetectionLag {
  const r = st
    .get(
      `SELECT (SELECT coalesce(max(id), 0) FROM batches) AS newest, count(*) AS n,
        coalesce(sum(event_count), 0) AS events, min(received_at) AS oldest FROM batches WHERE id > ?`,
    )
    .get(cursor) as { newest: number; n: number; events: number; oldest: number | null };
  return {
    cursor,
    newestBatchId: Math.max(r.newest, cursor),
    batches: r.n,
    events: r.events,
    oldestPendingReceivedAt: r.oldest,
  };
}

/** getEvents reads events by their ids (decoding each batch once), in the order asked. */
export function getEvents(st: Statements, ids: string[]): StoredEvent[] {
  const wanted = ids.map((id) => ({ id, pos: decodeCursor(id) }));
  const byBatch = new Map<number, StoredEvent[] | null>();
  const stmt = st.getSafeIntegers(
    `SELECT b.id, b.agent_id, b.seq, b.received_at, b.event_count, d.body
     FROM batches b JOIN batch_events d ON d.batch_id = b.id WHERE b.id = ?`,
  );
  const out: StoredEvent[] = [];
  for (const w of wanted) {
    let evs = byBatch.get(w.pos.batchId);
    if (evs === undefined) {
      evs = null;
      const r = stmt.get(w.pos.batchId) as FollowRow | undefined;
      const raw = r?.body ? unpack(r.body) : undefined;
      if (r && raw !== undefined && typeof raw !== 'string') {
        try {
          evs = decodeEventBatch(raw).map((event, index) => ({
            id: eventId(Number(r.id), index),
            agentId: r.agent_id,
            seq: r.seq,
            index,
            receivedAt: Number(r.received_at),
            event,
          }));
        } catch {
          evs = null;
        }
      }
      byBatch.set(w.pos.batchId, evs);
    }
    const e = evs?.[w.pos.index];
    if (e) out.push(e);
  }
  return out;
}
