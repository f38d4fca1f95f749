import { type Event, decodeEventBatch } from '@palisade/protocol';
import {
  type EventPage,
  type EventQuery,
  eventMatches,
  type SkippedBatch,
  type StoredEvent,
  validateEventQuery,
} from '@palisade/storage';
import { performance } from 'node:perf_hooks';
import { uncompressSync } from 'lz4-napi';
import { decodeCursor, encodeCursor, eventId } from './event-id.js';
import type { Statements } from './statements.js';

interface CandidateRow {
  id: number;
  agent_id: string;
  seq: bigint;
  received_at: bigint;
  body: Buffer;
}

/**
 * buildSql turns the filters into a query over candidate batches, newest first. The SQL filters
 * are coarse (a batch qualifies when any of its events might); `eventMatches` then decides per
 * event, so a batch-level false positive (for example `contains` text spanning two events of the
 * concatenated search text) costs time, never correctness.
 */
function buildSql(q: EventQuery): { sql: string; params: Record<string, unknown> } {
  const where = ['b.id BETWEEN @lo AND @hi'];
  const params: Record<string, unknown> = {};
  if (q.agentId !== undefined) {
    where.push('b.agent_id = @agent');
    params.agent = q.agentId;
  }
  if (q.fromMs !== undefined) {
    where.push('b.max_time >= @from');
    params.from = q.fromMs;
  }
  if (q.toMs !== undefined) {
    where.push('b.min_time < @to');
    params.to = q.toMs;
  }
  if (q.classUid !== undefined || q.activityId !== undefined) {
    // kinds holds " 1007.1 1007.2 ": match " class." / ".activity " / " class.activity ".
    where.push('instr(b.kinds, @kind) > 0');
    params.kind =
      q.classUid !== undefined && q.activityId !== undefined
        ? ` ${q.classUid}.${q.activityId} `
        : q.classUid !== undefined
          ? ` ${q.classUid}.`
          : `.${q.activityId} `;
  }
  if (q.contains) {
    // instr() compares literally, so % and _ in the user's text need no escaping.
    where.push('instr(d.search_text, @text) > 0');
    params.text = q.contains;
  }
  const sql = `SELECT b.id, b.agent_id, b.seq, b.received_at, d.body
    FROM batches b JOIN batch_events d ON d.batch_id = b.id
    WHERE ${where.join(' AND ')} ORDER BY b.id DESC`;
  return { sql, params };
}

/**
 * decodeBody decodes a stored batch with the one batch reader (the rule ingest checked it by), or
 * says why it cannot: a batch stored by an older server under another rule, or damaged on disk,
 * must cost the search that one batch, never the page.
 */
function decodeBody(body: Buffer): Event[] | string {
  let raw: Buffer;
  try {
    raw = uncompressSync(body);
  } catch (err) {
    return `stored body is not a valid LZ4 block (${(err as Error).message})`;
  }
  try {
    return decodeEventBatch(raw);
  } catch (err) {
    return `stored body is not a valid EventBatch (${(err as Error).message})`;
  }
}

/** Slice bounds, in batch ids: a slice is scanned in one go. */
const SLICE_MIN = 16;
const SLICE_MAX = 1 << 20;

/** SearchTuning sets how long the scan may hold the event loop. */
export interface SearchTuning {
  /** Longest the scan runs before it yields to the event loop, ms; slices adapt to it. @default 8 */
  yieldEveryMs: number;
}
const DEFAULT_TUNING: SearchTuning = { yieldEveryMs: 8 };

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * searchEvents returns matching events newest stored first (descending id; within a batch the
 * later event first). The cursor is the id of the last event returned; the next page continues
 * strictly below it, so events stored after the first page never shift later pages. A candidate
 * batch that cannot be decoded is left out and listed in `skipped` (agent, sequence, why).
 *
 * A substring search over a large store scans a lot of text, and this runs on the server's event
 * loop: so the scan goes down the batch ids in slices (sized to take a fraction of
 * `yieldEveryMs`) and yields once that much time has passed, so acks and other requests keep
 * flowing; a cheap query never yields. Batches stored meanwhile have higher ids than where the
 * scan started and are not part of this page.
 */
export async function searchEvents(
  st: Statements,
  q: EventQuery,
  tuning: SearchTuning = DEFAULT_TUNING,
): Promise<EventPage> {
  validateEventQuery(q);
  const start = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
  const top = start
    ? start.batchId
    : Number((st.get('SELECT max(id) AS m FROM batches').get() as { m: number | null }).m ?? 0);
  const { sql, params } = buildSql(q);
  const stmt = st.getSafeIntegers(sql);
  const events: StoredEvent[] = [];
  const skipped: SkippedBatch[] = [];
  const page = (nextCursor?: string): EventPage => ({
    events,
    ...(nextCursor !== undefined ? { nextCursor } : {}),
    skipped,
  });
  let slice = SLICE_MIN;
  const target = Math.max(tuning.yieldEveryMs / 4, 0.5);
  let lastYield = performance.now();
  for (let hi = top; hi >= 1; ) {
    const lo = Math.max(1, hi - slice + 1);
    const t0 = performance.now();
    for (const row of stmt.iterate({ ...params, lo, hi }) as IterableIterator<CandidateRow>) {
      const batchId = Number(row.id);
      const decoded = decodeBody(row.body);
      if (typeof decoded === 'string') {
        skipped.push({ agentId: row.agent_id, seq: row.seq, reason: decoded });
        continue;
      }
      let i = decoded.length - 1;
      if (start && batchId === start.batchId) i = Math.min(i, start.index - 1);
      for (; i >= 0; i--) {
        const e = decoded[i]!;
        if (!eventMatches(e, q)) continue;
        events.push({
          id: eventId(batchId, i),
          agentId: row.agent_id,
          seq: row.seq,
          index: i,
          receivedAt: Number(row.received_at),
          event: e,
        });
        if (events.length === q.limit) {
          // Leaving the loop early ends the statement (iterate() returns it to the cache).
          return page(encodeCursor({ batchId, index: i }));
        }
      }
    }
    const now = performance.now();
    const ms = now - t0;
    if (ms < target / 2) slice = Math.min(slice * 2, SLICE_MAX);
    else if (ms > target * 2) slice = Math.max(Math.floor(slice / 2), SLICE_MIN);
    hi = lo - 1;
    if (hi >= 1 && now - lastYield >= tuning.yieldEveryMs) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  return page();
}
