import type {
  ActualIsolation,
  DesiredIsolation,
  IsolationRecord,
  RestoreCodeRecord,
} from '@palisade/storage';
import { PalisadeError } from '@palisade/common';
import { mapConstraint, notFound } from './errors.js';
import type { Statements } from './statements.js';

interface IsolationRow {
  agent_id: string;
  isolated: number;
  revision: number;
  reason: string;
  command_id: string | null;
  changed_at: number;
  actor_name: string;
  actual: string | null;
}

function toRecord(r: IsolationRow): IsolationRecord {
  return {
    agentId: r.agent_id,
    desired: {
      isolated: r.isolated === 1,
      revision: r.revision,
      reason: r.reason,
      commandId: r.command_id,
      changedAt: r.changed_at,
      actorName: r.actor_name,
    },
    actual: r.actual === null ? null : (JSON.parse(r.actual) as ActualIsolation),
  };
}

const COLS = 'agent_id, isolated, revision, reason, command_id, changed_at, actor_name, actual';

/**
 * Isolation stores each agent's desired isolation (one row per agent that was ever isolated or
 * reported a state) and its last actual-state report (JSON, read and written whole).
 */
export class Isolation {
  constructor(private readonly st: Statements) {}

  get(agentId: string): IsolationRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM agent_isolation WHERE agent_id = ?`).get(agentId) as
      | IsolationRow
      | undefined;
    return r && toRecord(r);
  }

  list(): IsolationRecord[] {
    return (this.st.get(`SELECT ${COLS} FROM agent_isolation ORDER BY agent_id`).all() as IsolationRow[]).map(
      toRecord,
    );
  }

  /** setDesired writes the next revision; the caller runs it inside a transaction. */
  setDesired(agentId: string, d: Omit<DesiredIsolation, 'revision'>): number {
    const prev = this.st.get('SELECT revision FROM agent_isolation WHERE agent_id = ?').get(agentId) as
      | { revision: number }
      | undefined;
    const revision = (prev?.revision ?? 0) + 1;
    try {
      this.st
        .get(
          `INSERT INTO agent_isolation (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (agent_id) DO UPDATE SET isolated = excluded.isolated, revision = excluded.revision,
             reason = excluded.reason, command_id = excluded.command_id, changed_at = excluded.changed_at,
             actor_name = excluded.actor_name`,
        )
        .run(agentId, d.isolated ? 1 : 0, revision, d.reason, d.commandId, d.changedAt, d.actorName);
    } catch (err) {
      mapConstraint(
        err,
        () => `isolation of agent ${JSON.stringify(agentId)} changed concurrently`,
        () => `agent ${JSON.stringify(agentId)} does not exist`,
      );
    }
    return revision;
  }

  recordActual(agentId: string, actual: ActualIsolation): void {
    try {
      // An agent that was never isolated reports "not isolated" too: keep it, at revision 0.
      this.st
        .get(
          `INSERT INTO agent_isolation (${COLS}) VALUES (?, 0, 0, '', NULL, ?, '', ?)
           ON CONFLICT (agent_id) DO UPDATE SET actual = excluded.actual`,
        )
        .run(agentId, actual.reportedAt, JSON.stringify(actual));
    } catch (err) {
      mapConstraint(
        err,
        () => `isolation of agent ${JSON.stringify(agentId)} changed concurrently`,
        () => `agent ${JSON.stringify(agentId)} does not exist`,
      );
    }
  }
}

interface CodeRow {
  agent_id: string;
  code_id: string;
  verifier: string;
  sealed: string | null;
  created_at: number;
  revealed_at: number | null;
  revealed_by: string | null;
  used_at: number | null;
}

const CODE_COLS = 'agent_id, code_id, verifier, sealed, created_at, revealed_at, revealed_by, used_at';

function codeRecord(r: CodeRow): RestoreCodeRecord {
  return {
    agentId: r.agent_id,
    codeId: r.code_id,
    verifier: JSON.parse(r.verifier) as RestoreCodeRecord['verifier'],
    sealed: r.sealed,
    createdAt: r.created_at,
    revealedAt: r.revealed_at,
    revealedBy: r.revealed_by,
    usedAt: r.used_at,
  };
}

/** RestoreCodes stores one offline restore code per agent (the verifier, and the sealed code until revealed). */
export class RestoreCodes {
  constructor(private readonly st: Statements) {}

  put(r: RestoreCodeRecord): void {
    try {
      this.st
        .get(
          `INSERT INTO agent_restore_codes (${CODE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (agent_id) DO UPDATE SET code_id = excluded.code_id, verifier = excluded.verifier,
             sealed = excluded.sealed, created_at = excluded.created_at, revealed_at = excluded.revealed_at,
             revealed_by = excluded.revealed_by, used_at = excluded.used_at`,
        )
        .run(
          r.agentId,
          r.codeId,
          JSON.stringify(r.verifier),
          r.sealed,
          r.createdAt,
          r.revealedAt,
          r.revealedBy,
          r.usedAt,
        );
    } catch (err) {
      mapConstraint(
        err,
        () => `restore code ${JSON.stringify(r.codeId)} exists`,
        () => `agent ${JSON.stringify(r.agentId)} does not exist`,
      );
    }
  }

  get(agentId: string): RestoreCodeRecord | undefined {
    const r = this.st.get(`SELECT ${CODE_COLS} FROM agent_restore_codes WHERE agent_id = ?`).get(agentId) as
      | CodeRow
      | undefined;
    return r && codeRecord(r);
  }

  reveal(agentId: string, codeId: string, at: number, by: string): RestoreCodeRecord | undefined {
    const before = this.get(agentId);
    if (!before || before.codeId !== codeId || before.revealedAt !== null || before.sealed === null)
      return undefined;
    const info = this.st
      .get(
        `UPDATE agent_restore_codes SET revealed_at = ?, revealed_by = ?, sealed = NULL
         WHERE agent_id = ? AND code_id = ? AND revealed_at IS NULL`,
      )
      .run(at, by, agentId, codeId);
    return info.changes === 1 ? before : undefined;
  }

  markUsed(agentId: string, codeId: string, at: number): void {
    const info = this.st
      .get('UPDATE agent_restore_codes SET used_at = coalesce(used_at, ?) WHERE agent_id = ? AND code_id = ?')
      .run(at, agentId, codeId);
    if (info.changes === 0) {
      if (!this.get(agentId)) throw notFound('restore code of agent', agentId);
      throw new PalisadeError(
        'not_found',
        `agent ${JSON.stringify(agentId)} holds no restore code ${JSON.stringify(codeId)}`,
      );
    }
  }
}
