import type Database from 'better-sqlite3';
import { PalisadeError } from '@palisade/common';
import {
  ALERT_EVIDENCE_CAP,
  ALERT_SEVERITIES,
  ALERT_STATUSES,
  type AlertChange,
  type AlertPage,
  type AlertPatch,
  type AlertQuery,
  type AlertRecord,
  type DetectionCommit,
  type DetectionCursor,
  type NewAlert,
} from '@palisade/storage';
import { notFound } from './errors.js';
import type { Statements } from './statements.js';

interface AlertRow {
  seq: number;
  id: string;
  agent_id: string;
  hostname: string;
  rule_id: string;
  rule_title: string;
  rule_kind: AlertRecord['ruleKind'];
  rule_description: string | null;
  severity: AlertRecord['severity'];
  status: AlertRecord['status'];
  assignee: string | null;
  comment: string | null;
  tactics: string;
  techniques: string;
  group_key: string;
  count: number;
  first_seen: number;
  last_seen: number;
  created_at: number;
  updated_at: number;
  evidence: string;
  dropped_evidence: number;
}

const COLS =
  'seq, id, agent_id, hostname, rule_id, rule_title, rule_kind, rule_description, severity, severity_rank, status, assignee, comment, tactics, techniques, group_key, count, first_seen, last_seen, created_at, updated_at, evidence, dropped_evidence';

function toRecord(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    agentId: r.agent_id,
    hostname: r.hostname,
    ruleId: r.rule_id,
    ruleTitle: r.rule_title,
    ruleKind: r.rule_kind,
    ruleDescription: r.rule_description,
    severity: r.severity,
    status: r.status,
    assignee: r.assignee,
    comment: r.comment,
    tactics: JSON.parse(r.tactics) as string[],
    techniques: JSON.parse(r.techniques) as string[],
    groupKey: r.group_key,
    count: r.count,
    firstSeenMs: r.first_seen,
    lastSeenMs: r.last_seen,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    evidence: JSON.parse(r.evidence) as AlertRecord['evidence'],
    droppedEvidence: r.dropped_evidence,
  };
}

function parseCursor(c: string): number {
  if (!/^a\d{1,15}$/.test(c)) {
    throw new PalisadeError(
      'bad_request',
      `alert cursor ${JSON.stringify(c.slice(0, 40))} is not valid: pass nextCursor as returned`,
    );
  }
  return Number(c.slice(1));
}

function rank(sev: string): number {
  const i = ALERT_SEVERITIES.indexOf(sev as AlertRecord['severity']);
  if (i < 0) {
    throw new PalisadeError(
      'bad_request',
      `severity ${JSON.stringify(sev)} is not one of ${ALERT_SEVERITIES.join(', ')}`,
    );
  }
  return i;
}

function checkStatus(s: string): void {
  if (!ALERT_STATUSES.includes(s as AlertRecord['status'])) {
    throw new PalisadeError(
      'bad_request',
      `status ${JSON.stringify(s)} is not one of ${ALERT_STATUSES.join(', ')}`,
    );
  }
}

/**
 * Alerts stores alerts (one row each, evidence as JSON) and the detection cursor. A detection
 * pass is one IMMEDIATE transaction: compare-and-set the cursor, then create or fold each alert,
 * so the cursor never moves without its alerts and alerts never exist without the cursor past
 * their batches.
 */
export class Alerts {
  private readonly commitTx: Database.Transaction<(c: DetectionCommit) => AlertChange[]>;

  constructor(
    db: Database.Database,
    private readonly st: Statements,
  ) {
    this.commitTx = db.transaction((c: DetectionCommit) => {
      const moved = this.st
        .get('UPDATE detection_cursor SET batch_id = ?, updated_at = ? WHERE id = 1 AND batch_id = ?')
        .run(c.to, c.at, c.from);
      if (moved.changes === 0) {
        const now = this.cursor().batchId;
        throw new PalisadeError(
          'conflict',
          `detection cursor is at batch ${now}, not ${c.from}: another detection pass committed first; nothing was written`,
        );
      }
      return c.alerts.map((a) => this.createOrFold(a, c.groupWindowMs, c.at));
    });
  }

  cursor(): DetectionCursor {
    const r = this.st.get('SELECT batch_id, updated_at FROM detection_cursor WHERE id = 1').get() as {
      batch_id: number;
      updated_at: number;
    };
    return { batchId: r.batch_id, updatedAt: r.updated_at };
  }

  commit(c: DetectionCommit): AlertChange[] {
    if (!Number.isSafeInteger(c.to) || c.to < c.from) {
      throw new PalisadeError(
        'validation_failed',
        `detection commit must move the cursor forward (from ${c.from} to ${c.to})`,
      );
    }
    for (const a of c.alerts) {
      rank(a.severity);
      if (!Number.isSafeInteger(a.count) || a.count < 1)
        throw new PalisadeError(
          'validation_failed',
          `alert of rule ${a.ruleId}: count must be a positive integer, got ${a.count}`,
        );
    }
    return this.commitTx.immediate(c);
  }

  private createOrFold(a: NewAlert, windowMs: number, at: number): AlertChange {
    const open = this.st
      .get(
        `SELECT ${COLS} FROM alerts WHERE group_key = ? AND status != 'resolved' ORDER BY seq DESC LIMIT 1`,
      )
      .get(a.groupKey) as AlertRow | undefined;
    if (open && a.firstSeenMs <= open.last_seen + windowMs && a.lastSeenMs >= open.first_seen - windowMs) {
      const prev = toRecord(open);
      const room = Math.max(0, ALERT_EVIDENCE_CAP - prev.evidence.length);
      const kept = a.evidence.slice(0, room);
      const evidence = [...prev.evidence, ...kept];
      const dropped = prev.droppedEvidence + a.droppedEvidence + (a.evidence.length - kept.length);
      const folded: AlertRecord = {
        ...prev,
        count: prev.count + a.count,
        firstSeenMs: Math.min(prev.firstSeenMs, a.firstSeenMs),
        lastSeenMs: Math.max(prev.lastSeenMs, a.lastSeenMs),
        // A correlation's severity or a rule's new level after a reload: keep the higher.
        severity: rank(a.severity) > rank(prev.severity) ? a.severity : prev.severity,
        updatedAt: at,
        evidence,
        droppedEvidence: dropped,
      };
      this.st
        .get(
          'UPDATE alerts SET count = ?, first_seen = ?, last_seen = ?, severity = ?, severity_rank = ?, updated_at = ?, evidence = ?, dropped_evidence = ? WHERE seq = ?',
        )
        .run(
          folded.count,
          folded.firstSeenMs,
          folded.lastSeenMs,
          folded.severity,
          rank(folded.severity),
          at,
          JSON.stringify(evidence),
          dropped,
          open.seq,
        );
      return { change: 'folded', alert: folded };
    }
    const kept = a.evidence.slice(0, ALERT_EVIDENCE_CAP);
    const rec: AlertRecord = {
      ...a,
      evidence: kept,
      droppedEvidence: a.droppedEvidence + (a.evidence.length - kept.length),
      status: 'new',
      assignee: null,
      comment: null,
      createdAt: at,
      updatedAt: at,
    };
    this.st
      .get(
        `INSERT INTO alerts (${COLS.replace('seq, ', '')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        rec.id,
        rec.agentId,
        rec.hostname,
        rec.ruleId,
        rec.ruleTitle,
        rec.ruleKind,
        rec.ruleDescription,
        rec.severity,
        rank(rec.severity),
        rec.status,
        null,
        null,
        JSON.stringify(rec.tactics),
        JSON.stringify(rec.techniques),
        rec.groupKey,
        rec.count,
        rec.firstSeenMs,
        rec.lastSeenMs,
        at,
        at,
        JSON.stringify(kept),
        rec.droppedEvidence,
      );
    return { change: 'created', alert: rec };
  }

  get(id: string): AlertRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM alerts WHERE id = ?`).get(id) as AlertRow | undefined;
    return r && toRecord(r);
  }

  list(q: AlertQuery): AlertPage {
    if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 10_000) {
      throw new PalisadeError(
        'bad_request',
        `alert limit must be an integer from 1 to 10000, got ${q.limit}`,
      );
    }
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      where.push(sql);
      args.push(v);
    };
    if (q.cursor !== undefined) add('seq < ?', parseCursor(q.cursor));
    if (q.agentId !== undefined) add('agent_id = ?', q.agentId);
    if (q.ruleId !== undefined) add('rule_id = ?', q.ruleId);
    if (q.severity !== undefined) add('severity_rank = ?', rank(q.severity));
    if (q.minSeverity !== undefined) add('severity_rank >= ?', rank(q.minSeverity));
    if (q.status !== undefined) {
      checkStatus(q.status);
      add('status = ?', q.status);
    }
    if (q.fromMs !== undefined) add('last_seen >= ?', q.fromMs);
    if (q.toMs !== undefined) add('first_seen < ?', q.toMs);
    const sql = `SELECT ${COLS} FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.st.get(sql).all(...args, q.limit + 1) as AlertRow[];
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const alerts = page.map(toRecord);
    return more ? { alerts, nextCursor: `a${page.at(-1)!.seq}` } : { alerts };
  }

  update(id: string, patch: AlertPatch, at: number): AlertRecord {
    const sets: string[] = ['updated_at = ?'];
    const args: unknown[] = [at];
    if (patch.status !== undefined) {
      checkStatus(patch.status);
      sets.push('status = ?');
      args.push(patch.status);
    }
    if (patch.assignee !== undefined) {
      sets.push('assignee = ?');
      args.push(patch.assignee);
    }
    if (patch.comment !== undefined) {
      sets.push('comment = ?');
      args.push(patch.comment);
    }
    const info = this.st.get(`UPDATE alerts SET ${sets.join(', ')} WHERE id = ?`).run(...args, id);
    if (info.changes === 0) throw notFound('alert', id);
    return this.get(id)!;
  }
}
