import { PalisadeError } from '@palisade/common';
import type {
  PlaybookAction,
  PlaybookMatch,
  PlaybookPatch,
  PlaybookRecord,
  PlaybookRunCount,
  PlaybookRunPage,
  PlaybookRunQuery,
  PlaybookRunRecord,
  PlaybookStep,
} from '@palisade/storage';
import { isUniqueViolation, notFound } from './errors.js';
import type { Statements } from './statements.js';

interface PlaybookRow {
  id: string;
  name: string;
  description: string;
  enabled: number;
  dry_run: number;
  match: string;
  actions: string;
  max_isolations_per_hour: number;
  max_runs_per_hour: number;
  webhook_secret_sealed: string | null;
  created_at: number;
  created_by: string;
  updated_at: number;
}

interface RunRow {
  seq: number;
  id: string;
  playbook_id: string;
  playbook_name: string;
  alert_id: string;
  agent_id: string;
  rule_id: string;
  at: number;
  dry_run: number;
  isolated: number;
  acted: number;
  steps: string;
}

const COLS =
  'id, name, description, enabled, dry_run, match, actions, max_isolations_per_hour, max_runs_per_hour, webhook_secret_sealed, created_at, created_by, updated_at';
const RUN_COLS =
  'seq, id, playbook_id, playbook_name, alert_id, agent_id, rule_id, at, dry_run, isolated, acted, steps';

function toRecord(r: PlaybookRow): PlaybookRecord {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    enabled: r.enabled === 1,
    dryRun: r.dry_run === 1,
    match: JSON.parse(r.match) as PlaybookMatch,
    actions: JSON.parse(r.actions) as PlaybookAction[],
    maxIsolationsPerHour: r.max_isolations_per_hour,
    maxRunsPerHour: r.max_runs_per_hour,
    webhookSecretSealed: r.webhook_secret_sealed,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
  };
}

function toRun(r: RunRow): PlaybookRunRecord {
  return {
    id: r.id,
    playbookId: r.playbook_id,
    playbookName: r.playbook_name,
    alertId: r.alert_id,
    agentId: r.agent_id,
    ruleId: r.rule_id,
    at: r.at,
    dryRun: r.dry_run === 1,
    isolated: r.isolated === 1,
    acted: r.acted === 1,
    steps: JSON.parse(r.steps) as PlaybookStep[],
  };
}

function parseCursor(c: string): number {
  if (!/^r\d{1,15}$/.test(c))
    throw new PalisadeError('bad_request', `playbook run cursor "${c}" is not valid`);
  return Number(c.slice(1));
}

/**
 * Playbooks stores playbooks (match and actions as JSON, read and written whole) and their runs,
 * one row per (playbook, alert): the unique pair is what makes a playbook run once per alert.
 */
export class Playbooks {
  constructor(private readonly st: Statements) {}

  create(p: PlaybookRecord): void {
    try {
      this.st
        .get(`INSERT INTO playbooks (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          p.id,
          p.name,
          p.description,
          p.enabled ? 1 : 0,
          p.dryRun ? 1 : 0,
          JSON.stringify(p.match),
          JSON.stringify(p.actions),
          p.maxIsolationsPerHour,
          p.maxRunsPerHour,
          p.webhookSecretSealed,
          p.createdAt,
          p.createdBy,
          p.updatedAt,
        );
    } catch (err) {
      if (isUniqueViolation(err)) {
        const byName = this.getByName(p.name);
        throw new PalisadeError(
          'conflict',
          byName ? `a playbook named "${p.name}" already exists` : `playbook id ${p.id} is taken`,
        );
      }
      throw err;
    }
  }

  get(id: string): PlaybookRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM playbooks WHERE id = ?`).get(id) as PlaybookRow | undefined;
    return r && toRecord(r);
  }

  getByName(name: string): PlaybookRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM playbooks WHERE name = ?`).get(name) as
      | PlaybookRow
      | undefined;
    return r && toRecord(r);
  }

  list(): PlaybookRecord[] {
    return (this.st.get(`SELECT ${COLS} FROM playbooks ORDER BY seq`).all() as PlaybookRow[]).map(toRecord);
  }

  update(id: string, patch: PlaybookPatch): PlaybookRecord {
    const cur = this.get(id);
    if (!cur) throw notFound('playbook', id);
    const next = { ...cur, ...patch };
    this.st
      .get('UPDATE playbooks SET enabled = ?, dry_run = ?, updated_at = ? WHERE id = ?')
      .run(next.enabled ? 1 : 0, next.dryRun ? 1 : 0, next.updatedAt, id);
    return next;
  }

  delete(id: string): void {
    if (this.st.get('DELETE FROM playbooks WHERE id = ?').run(id).changes === 0)
      throw notFound('playbook', id);
  }

  createRun(r: PlaybookRunRecord): void {
    try {
      this.st
        .get(
          'INSERT INTO playbook_runs (id, playbook_id, playbook_name, alert_id, agent_id, rule_id, at, dry_run, isolated, acted, steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          r.id,
          r.playbookId,
          r.playbookName,
          r.alertId,
          r.agentId,
          r.ruleId,
          r.at,
          r.dryRun ? 1 : 0,
          r.isolated ? 1 : 0,
          r.acted ? 1 : 0,
          JSON.stringify(r.steps),
        );
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new PalisadeError(
          'conflict',
          `playbook ${r.playbookId} has run for alert ${r.alertId} already (or run id ${r.id} is taken)`,
        );
      }
      throw err;
    }
  }

  updateRunSteps(id: string, steps: PlaybookStep[]): void {
    const res = this.st.get('UPDATE playbook_runs SET steps = ? WHERE id = ?').run(JSON.stringify(steps), id);
    if (res.changes === 0) throw notFound('playbook run', id);
  }

  getRun(id: string): PlaybookRunRecord | undefined {
    const r = this.st.get(`SELECT ${RUN_COLS} FROM playbook_runs WHERE id = ?`).get(id) as RunRow | undefined;
    return r && toRun(r);
  }

  listRuns(q: PlaybookRunQuery): PlaybookRunPage {
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 1000)
      throw new PalisadeError('bad_request', `limit must be 1-1000, got ${q.limit}`);
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.playbookId !== undefined) {
      where.push('playbook_id = ?');
      args.push(q.playbookId);
    }
    if (q.alertId !== undefined) {
      where.push('alert_id = ?');
      args.push(q.alertId);
    }
    if (q.cursor !== undefined) {
      where.push('seq < ?');
      args.push(parseCursor(q.cursor));
    }
    const sql = `SELECT ${RUN_COLS} FROM playbook_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.st.get(sql).all(...args, q.limit + 1) as RunRow[];
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    return {
      runs: page.map(toRun),
      ...(more ? { nextCursor: `r${page[page.length - 1]!.seq}` } : {}),
    };
  }

  countRuns(q: PlaybookRunCount): number {
    const where = ['at >= ?'];
    const args: (string | number)[] = [q.since];
    if (q.playbookId !== undefined) {
      where.push('playbook_id = ?');
      args.push(q.playbookId);
    }
    if (q.isolated !== undefined) {
      where.push('isolated = ?');
      args.push(q.isolated ? 1 : 0);
    }
    if (q.acted !== undefined) {
      where.push('acted = ?');
      args.push(q.acted ? 1 : 0);
    }
    const row = this.st
      .get(`SELECT count(*) AS n FROM playbook_runs WHERE ${where.join(' AND ')}`)
      .get(...args) as {
      n: number;
    };
    return row.n;
  }
}
