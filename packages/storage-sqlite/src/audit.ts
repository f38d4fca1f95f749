import { PalisadeError } from '@palisade/common';
import type { AuditPage, AuditQuery, AuditRecord, NewAuditRecord } from '@palisade/storage';
import type { Statements } from './statements.js';

interface AuditRow {
  id: number;
  at: number;
  actor_id: string | null;
  actor_name: string;
  action: string;
  target_type: string;
  target_id: string | null;
  remote_address: string;
  outcome: 'ok' | 'denied';
  details: string;
}

function toRecord(r: AuditRow): AuditRecord {
  return {
    id: String(r.id),
    at: r.at,
    actorId: r.actor_id,
    actorName: r.actor_name,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    remoteAddress: r.remote_address,
    outcome: r.outcome,
    details: JSON.parse(r.details) as Record<string, unknown>,
  };
}

const COLS = 'at, actor_id, actor_name, action, target_type, target_id, remote_address, outcome, details';

/** parseCursor reads the cursor this store hands out: the id of the last entry of the previous page. */
function parseCursor(c: string): number {
  if (!/^a\d{1,15}$/.test(c)) throw new PalisadeError('bad_request', `audit cursor "${c}" is not valid`);
  return Number(c.slice(1));
}

/**
 * AuditLog stores the audit log: one row per entry, append-only. The row id orders entries, so
 * pages are cut by id (stable while new entries are appended) rather than by offset.
 */
export class AuditLog {
  constructor(private readonly st: Statements) {}

  append(e: NewAuditRecord): string {
    const { lastInsertRowid } = this.st
      .get(`INSERT INTO audit_log (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        e.at,
        e.actorId,
        e.actorName,
        e.action,
        e.targetType,
        e.targetId,
        e.remoteAddress,
        e.outcome,
        JSON.stringify(e.details),
      );
    return String(lastInsertRowid);
  }

  search(q: AuditQuery): AuditPage {
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 10_000) {
      throw new PalisadeError(
        'bad_request',
        `audit limit must be an integer from 1 to 10000, got ${q.limit}`,
      );
    }
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.cursor !== undefined) {
      where.push('id < ?');
      args.push(parseCursor(q.cursor));
    }
    if (q.actor !== undefined) {
      where.push('(actor_id = ? OR actor_name = ?)');
      args.push(q.actor, q.actor);
    }
    if (q.action !== undefined) {
      // "agent" matches "agent" and "agent.move", not "agents".
      where.push("(action = ? OR substr(action, 1, length(?) + 1) = ? || '.')");
      args.push(q.action, q.action, q.action);
    }
    if (q.targetId !== undefined) {
      where.push('target_id = ?');
      args.push(q.targetId);
    }
    if (q.outcome !== undefined) {
      where.push('outcome = ?');
      args.push(q.outcome);
    }
    if (q.fromMs !== undefined) {
      where.push('at >= ?');
      args.push(q.fromMs);
    }
    if (q.toMs !== undefined) {
      where.push('at < ?');
      args.push(q.toMs);
    }
    const sql = `SELECT id, ${COLS} FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.st.get(sql).all(...args, q.limit + 1) as AuditRow[];
    const more = rows.length > q.limit;
    const entries = rows.slice(0, q.limit).map(toRecord);
    return more ? { entries, nextCursor: `a${entries.at(-1)!.id}` } : { entries };
  }
}
