import type Database from 'better-sqlite3';
import { type Event, encodeEvent, searchText } from '@palisade/protocol';

/**
 * RowLayout is the alternative event layout measured by the benchmark (not used by the storage):
 * one row per event with its own protobuf BLOB, the indexed columns the searches need and the
 * search text, plus the (agent_id, seq) dedupe table. See docs/adr/0003-event-storage-layout.md.
 */
export class RowLayout {
  private readonly insBatch: Database.Statement;
  private readonly insEvent: Database.Statement;
  private readonly tx: Database.Transaction<
    (batches: { agentId: string; seq: number; events: Event[] }[]) => void
  >;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE row_batches (agent_id TEXT NOT NULL, seq INTEGER NOT NULL, received_at INTEGER NOT NULL,
        PRIMARY KEY (agent_id, seq)) WITHOUT ROWID;
      CREATE TABLE row_events (id INTEGER PRIMARY KEY, agent_id TEXT NOT NULL, seq INTEGER NOT NULL,
        idx INTEGER NOT NULL, time_ms INTEGER NOT NULL, class_uid INTEGER NOT NULL, activity_id INTEGER NOT NULL,
        search_text TEXT NOT NULL, body BLOB NOT NULL);
      CREATE INDEX row_events_agent ON row_events(agent_id, id);
      CREATE INDEX row_events_class ON row_events(class_uid, activity_id, id);
      CREATE INDEX row_events_time ON row_events(time_ms);
    `);
    this.insBatch = db.prepare(
      'INSERT INTO row_batches (agent_id, seq, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.insEvent = db.prepare(
      'INSERT INTO row_events (agent_id, seq, idx, time_ms, class_uid, activity_id, search_text, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.tx = db.transaction((batches) => {
      for (const b of batches) {
        if (this.insBatch.run(b.agentId, b.seq, Date.now()).changes === 0) continue;
        for (let i = 0; i < b.events.length; i++) {
          const e = b.events[i]!;
          this.insEvent.run(
            b.agentId,
            b.seq,
            i,
            Number(e.timeMs),
            e.classUid,
            e.activityId,
            searchText(e),
            encodeEvent(e),
          );
        }
      }
    });
  }

  /** store writes batches in one transaction, a row per event. */
  store(batches: { agentId: string; seq: number; events: Event[] }[]): void {
    this.tx.immediate(batches);
  }

  close(): void {
    this.db.close();
  }

  /** contains returns up to `limit` event ids whose search text holds `text`, newest first. */
  contains(text: string, limit: number): number[] {
    return this.db
      .prepare('SELECT id FROM row_events WHERE instr(search_text, ?) > 0 ORDER BY id DESC LIMIT ?')
      .pluck()
      .all(text, limit) as number[];
  }
}
