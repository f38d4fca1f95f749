import type Database from 'better-sqlite3';
import { PalisadeError } from '@palisade/common';
import type { BatchResult, IncomingBatch } from '@palisade/storage';
import { prepareBatch, type PreparedBatch } from './batch-encoding.js';
import { isForeignKeyViolation } from './errors.js';
import type { Statements } from './statements.js';

const INSERT_BATCH = `INSERT INTO batches (agent_id, seq, received_at, event_count, min_time, max_time, kinds)
  VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, seq) DO NOTHING`;
const INSERT_EVENTS = 'INSERT INTO batch_events (batch_id, search_text, body) VALUES (?, ?, ?)';

/**
 * BatchStore writes event batches. Every call is one transaction (the server group-commits many
 * agents' batches together, so one fsync covers them all); the (agent_id, seq) unique key is the
 * dedupe record, checked and written in that same transaction, so a retried batch is never stored
 * twice and a crash never leaves a batch half-stored.
 */
export class BatchStore {
  private readonly write: Database.Transaction<(batches: PreparedBatch[]) => BatchResult[]>;

  constructor(db: Database.Database, st: Statements) {
    const insertBatch = st.get(INSERT_BATCH);
    const insertEvents = st.get(INSERT_EVENTS);
    this.write = db.transaction((batches: PreparedBatch[]) => {
      const results: BatchResult[] = new Array(batches.length);
      for (let i = 0; i < batches.length; i++) {
        const b = batches[i]!;
        let info: Database.RunResult;
        try {
          info = insertBatch.run(b.agentId, b.seq, b.receivedAt, b.count, b.minTime, b.maxTime, b.kinds);
        } catch (err) {
          if (!isForeignKeyViolation(err)) throw err;
          throw new PalisadeError(
            'not_found',
            `batch ${b.seq} is for unknown agent ${JSON.stringify(b.agentId)}; nothing of this write was stored`,
          );
        }
        const duplicate = info.changes === 0;
        if (!duplicate && b.count > 0) insertEvents.run(info.lastInsertRowid, b.text, b.body);
        results[i] = { agentId: b.agentId, seq: b.seq, duplicate };
      }
      return results;
    });
  }

  /** store validates and encodes every batch first, then writes them all in one IMMEDIATE transaction. */
  store(batches: IncomingBatch[]): BatchResult[] {
    const prepared = batches.map(prepareBatch);
    return this.write.immediate(prepared);
  }
}
