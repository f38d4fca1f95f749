import type Database from 'better-sqlite3';
import { PalisadeError } from '@palisade/common';
import type {
  CommandPage,
  CommandPatch,
  CommandQuery,
  CommandRecord,
  CommandState,
  DesiredIsolation,
} from '@palisade/storage';
import { mapConstraint, notFound } from './errors.js';
import type { Isolation } from './isolation.js';
import type { Statements } from './statements.js';

interface CommandRow {
  seq: number;
  id: string;
  agent_id: string;
  type: CommandRecord['type'];
  params: string;
  reason: string;
  actor_id: string | null;
  actor_name: string;
  state: CommandState;
  created_at: number;
  expires_at: number | null;
  delivered_at: number | null;
  finished_at: number | null;
  error: string | null;
  result: string | null;
  isolation_revision: number | null;
}

const COLS =
  'id, agent_id, type, params, reason, actor_id, actor_name, state, created_at, expires_at, delivered_at, finished_at, error, result, isolation_revision';

function toRecord(r: CommandRow): CommandRecord {
  return {
    id: r.id,
    agentId: r.agent_id,
    type: r.type,
    params: JSON.parse(r.params) as Record<string, unknown>,
    reason: r.reason,
    actorId: r.actor_id,
    actorName: r.actor_name,
    state: r.state,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    deliveredAt: r.delivered_at,
    finishedAt: r.finished_at,
    error: r.error,
    result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
    isolationRevision: r.isolation_revision,
  };
}

function parseCursor(c: string): number {
  if (!/^c\d{1,15}$/.test(c)) throw new PalisadeError('bad_request', `command cursor "${c}" is not valid`);
  return Number(c.slice(1));
}

const OPEN = "state IN ('pending', 'delivered')";

/**
 * Commands stores response commands, one row each. The row number orders them (newest first in
 * listings, cursor = the last row number of a page); state changes are compare-and-set updates, so
 * concurrent outcomes (a result racing an expiry) cannot both be written.
 */
export class Commands {
  private readonly createTx: Database.Transaction<
    (c: CommandRecord, iso?: Omit<DesiredIsolation, 'revision' | 'commandId'>) => CommandRecord
  >;
  private readonly expireTx: Database.Transaction<(now: number, error: string) => CommandRecord[]>;

  constructor(
    db: Database.Database,
    private readonly st: Statements,
    isolation: Isolation,
  ) {
    this.createTx = db.transaction((c, iso) => {
      let revision: number | null = null;
      if (iso) {
        if (!this.st.get('SELECT 1 FROM agents WHERE id = ?').get(c.agentId))
          throw new PalisadeError('not_found', `agent ${JSON.stringify(c.agentId)} does not exist`);
        revision = isolation.setDesired(c.agentId, { ...iso, commandId: c.id });
      }
      const stored = { ...c, isolationRevision: revision };
      try {
        this.st
          .get(`INSERT INTO commands (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(
            c.id,
            c.agentId,
            c.type,
            JSON.stringify(c.params),
            c.reason,
            c.actorId,
            c.actorName,
            c.state,
            c.createdAt,
            c.expiresAt,
            c.deliveredAt,
            c.finishedAt,
            c.error,
            c.result === null ? null : JSON.stringify(c.result),
            revision,
          );
      } catch (err) {
        mapConstraint(
          err,
          () => `command ${JSON.stringify(c.id)} already exists`,
          () => `agent ${JSON.stringify(c.agentId)} does not exist`,
        );
      }
      return stored;
    });
    this.expireTx = db.transaction((now, error) => {
      const rows = this.st
        .get(
          `SELECT seq, ${COLS} FROM commands WHERE ${OPEN} AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY seq`,
        )
        .all(now) as CommandRow[];
      const upd = this.st.get(
        `UPDATE commands SET state = 'expired', finished_at = ?, error = ? WHERE seq = ? AND ${OPEN}`,
      );
      for (const r of rows) upd.run(now, error, r.seq);
      return rows.map((r) => ({ ...toRecord(r), state: 'expired' as const, finishedAt: now, error }));
    });
  }

  create(c: CommandRecord, iso?: Omit<DesiredIsolation, 'revision' | 'commandId'>): CommandRecord {
    return this.createTx.immediate(c, iso);
  }

  get(id: string): CommandRecord | undefined {
    const r = this.st.get(`SELECT seq, ${COLS} FROM commands WHERE id = ?`).get(id) as CommandRow | undefined;
    return r && toRecord(r);
  }

  list(q: CommandQuery): CommandPage {
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 10_000) {
      throw new PalisadeError(
        'bad_request',
        `command limit must be an integer from 1 to 10000, got ${q.limit}`,
      );
    }
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.cursor !== undefined) {
      where.push('seq < ?');
      args.push(parseCursor(q.cursor));
    }
    if (q.agentId !== undefined) {
      where.push('agent_id = ?');
      args.push(q.agentId);
    }
    if (q.state !== undefined) {
      where.push('state = ?');
      args.push(q.state);
    }
    if (q.type !== undefined) {
      where.push('type = ?');
      args.push(q.type);
    }
    const sql = `SELECT seq, ${COLS} FROM commands ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.st.get(sql).all(...args, q.limit + 1) as CommandRow[];
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const commands = page.map(toRecord);
    return more ? { commands, nextCursor: `c${page.at(-1)!.seq}` } : { commands };
  }

  counts(): Record<CommandState, number> {
    const out: Record<CommandState, number> = {
      pending: 0,
      delivered: 0,
      succeeded: 0,
      failed: 0,
      expired: 0,
    };
    const rows = this.st.get('SELECT state, count(*) AS n FROM commands GROUP BY state').all() as {
      state: CommandState;
      n: number;
    }[];
    for (const r of rows) out[r.state] = r.n;
    return out;
  }

  open(agentId: string): CommandRecord[] {
    const rows = this.st
      .get(`SELECT seq, ${COLS} FROM commands WHERE agent_id = ? AND ${OPEN} ORDER BY seq`)
      .all(agentId) as CommandRow[];
    return rows.map(toRecord);
  }

  update(id: string, from: readonly CommandState[], patch: CommandPatch): CommandRecord | undefined {
    const current = this.get(id);
    if (!current) throw notFound('command', id);
    if (from.length === 0) return undefined;
    const sets: string[] = [];
    const args: unknown[] = [];
    const col = (name: string, v: unknown) => {
      sets.push(`${name} = ?`);
      args.push(v);
    };
    if (patch.state !== undefined) col('state', patch.state);
    if (patch.deliveredAt !== undefined) col('delivered_at', patch.deliveredAt);
    if (patch.finishedAt !== undefined) col('finished_at', patch.finishedAt);
    if (patch.error !== undefined) col('error', patch.error);
    if (patch.result !== undefined)
      col('result', patch.result === null ? null : JSON.stringify(patch.result));
    if (sets.length === 0) return from.includes(current.state) ? current : undefined;
    const info = this.st
      .get(
        `UPDATE commands SET ${sets.join(', ')} WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`,
      )
      .run(...args, id, ...from);
    return info.changes === 0 ? undefined : this.get(id);
  }

  expire(now: number, error: string): CommandRecord[] {
    return this.expireTx.immediate(now, error);
  }
}
