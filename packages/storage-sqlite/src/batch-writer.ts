import type Database from 'better-sqlite3';
import { PalisadeError } from '@palisade/common';
import type { BatchResult } from '@palisade/storage';
import { compressSync } from 'lz4-napi';
import type { BatchRow } from './batch-encoding.js';
import { isForeignKeyViolation } from './errors.js';
import type { Statements } from './statements.js';

const INSERT_BATCH = `INSERT INTO batches (agent_id, seq, received_at, event_count, min_time, max_time, kinds)
  VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, seq) DO NOTHING`;
const INSERT_EVENTS = 'INSERT INTO batch_events (batch_id, search_text, body) VALUES (?, ?, ?)';

function compress(body: Uint8Array): Buffer {
  return compressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

/**
 * BatchWriter writes described batches. Every call is one IMMEDIATE transaction (the server
 * group-commits many agents' batches together, so one fsync covers them all); the (agent_id, seq)
 * unique key is the dedupe record, checked and written in that same transaction, so a retried
 * batch is never stored twice and a crash never leaves a batch half-stored.
 */
export class BatchWriter {
  private readonly tx: Database.Transaction<(rows: BatchRow[], bodies: (Buffer | null)[]) => BatchResult[]>;

  constructor(db: Database.Database, st: Statements) {
    const insertBatch = st.get(INSERT_BATCH);
    const insertEvents = st.get(INSERT_EVENTS);
    this.tx = db.transaction((rows: BatchRow[], bodies: (Buffer | null)[]) => {
      const results: BatchResult[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const b = rows[i]!;
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
        const body = bodies[i];
        if (!duplicate && body) insertEvents.run(info.lastInsertRowid, b.text, body);
        results[i] = { agentId: b.agentId, seq: b.seq, duplicate };
      }
      return results;
    });
  }

  /** write compresses the bodies (outside the lock), then stores every row in one transaction. */
  write(rows: BatchRow[]): BatchResult[] {
    const bodies = rows.map((r) => (r.body ? compress(r.body) : null));
    return this.tx.immediate(rows, bodies);
  }
}
