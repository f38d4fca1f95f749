import type Database from 'better-sqlite3';
import type { AgentRecord, AgentTouch, CapabilityRecord, HostFactsRecord } from '@palisade/storage';
import { mapConstraint, notFound } from './errors.js';
import type { Statements } from './statements.js';

interface AgentRow {
  id: string;
  group_id: string;
  key_id: string;
  host: string;
  cert_fingerprint: string;
  public_key_fingerprint: string;
  registered_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
  decommissioned_at: number | null;
  policy_revision: number;
  capabilities: string;
  stats: string;
}

function toRecord(r: AgentRow): AgentRecord {
  return {
    id: r.id,
    groupId: r.group_id,
    keyId: r.key_id,
    host: JSON.parse(r.host) as HostFactsRecord,
    certFingerprint: r.cert_fingerprint,
    publicKeyFingerprint: r.public_key_fingerprint,
    registeredAt: r.registered_at,
    lastSeenAt: r.last_seen_at,
    revokedAt: r.revoked_at,
    decommissionedAt: r.decommissioned_at,
    policyRevision: r.policy_revision,
    capabilities: JSON.parse(r.capabilities) as CapabilityRecord[],
    stats: JSON.parse(r.stats) as Record<string, number | string>,
  };
}

const COLS =
  'id, group_id, key_id, host, cert_fingerprint, public_key_fingerprint, registered_at, last_seen_at, revoked_at, decommissioned_at, policy_revision, capabilities, stats';

/** TouchUpdate is what a check-in or session reports about an agent. */
export type TouchUpdate = AgentTouch['update'];

const TOUCH = `UPDATE agents SET last_seen_at = ?, host = coalesce(?, host), machine_id = coalesce(?, machine_id),
    capabilities = coalesce(?, capabilities), stats = coalesce(?, stats),
    policy_revision = coalesce(?, policy_revision)
  WHERE id = ?`;

/**
 * Agents stores enrolled agents. Host facts, capabilities and stats are JSON (read and written
 * whole); the machine id is also a column of its own so a reinstalled host can be found by it.
 */
export class Agents {
  private readonly touchTx: Database.Transaction<(touches: AgentTouch[]) => string[]>;

  constructor(
    private readonly db: Database.Database,
    private readonly st: Statements,
  ) {
    this.touchTx = db.transaction((touches: AgentTouch[]) =>
      touches.filter((t) => this.touchRow(t.id, t.update) === 0).map((t) => t.id),
    );
  }

  create(a: AgentRecord): void {
    try {
      this.st
        .get(`INSERT INTO agents (${COLS}, machine_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          a.id,
          a.groupId,
          a.keyId,
          JSON.stringify(a.host),
          a.certFingerprint,
          a.publicKeyFingerprint,
          a.registeredAt,
          a.lastSeenAt,
          a.revokedAt,
          a.decommissionedAt,
          a.policyRevision,
          JSON.stringify(a.capabilities),
          JSON.stringify(a.stats),
          a.host.machineId,
        );
    } catch (err) {
      mapConstraint(
        err,
        () => `an agent with id ${JSON.stringify(a.id)} already exists`,
        () => `group ${JSON.stringify(a.groupId)} does not exist`,
      );
    }
  }

  get(id: string): AgentRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM agents WHERE id = ?`).get(id) as AgentRow | undefined;
    return r && toRecord(r);
  }

  /** list returns every agent in registration order. */
  list(): AgentRecord[] {
    return (this.st.get(`SELECT ${COLS} FROM agents ORDER BY registered_at, id`).all() as AgentRow[]).map(
      toRecord,
    );
  }

  findByMachineId(machineId: string): AgentRecord[] {
    const rows = this.st
      .get(`SELECT ${COLS} FROM agents WHERE machine_id = ? ORDER BY registered_at, id`)
      .all(machineId) as AgentRow[];
    return rows.map(toRecord);
  }

  /** touch records a check-in: last seen always, the rest only when given. */
  touch(id: string, u: TouchUpdate): void {
    if (this.relaxed(() => this.touchRow(id, u)) === 0) throw notFound('agent', id);
  }

  /** touchMany records many check-ins in one transaction and returns the ids of unknown agents. */
  touchMany(touches: AgentTouch[]): string[] {
    if (touches.length === 0) return [];
    return this.relaxed(() => this.touchTx.immediate(touches));
  }

  private touchRow(id: string, u: TouchUpdate): number {
    return this.st
      .get(TOUCH)
      .run(
        u.lastSeenAt,
        u.host ? JSON.stringify(u.host) : null,
        u.host?.machineId ?? null,
        u.capabilities ? JSON.stringify(u.capabilities) : null,
        u.stats ? JSON.stringify(u.stats) : null,
        u.policyRevision ?? null,
        id,
      ).changes;
  }

  /**
   * relaxed runs a write without waiting for fsync (synchronous=NORMAL: still atomic and crash-safe
   * for the process, but a power cut may undo the last moments). Check-in facts are reported again
   * by every connected agent, so they are not worth an fsync each: with thousands of agents those
   * fsyncs would be most of the server's write load. Everything else keeps synchronous=FULL.
   */
  private relaxed<T>(fn: () => T): T {
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  update(id: string, patch: { groupId?: string; revokedAt?: number; decommissionedAt?: number }): void {
    let changes: number;
    try {
      changes = this.st
        .get(
          `UPDATE agents SET group_id = coalesce(?, group_id), revoked_at = coalesce(?, revoked_at),
             decommissioned_at = coalesce(?, decommissioned_at)
           WHERE id = ?`,
        )
        .run(patch.groupId ?? null, patch.revokedAt ?? null, patch.decommissionedAt ?? null, id).changes;
    } catch (err) {
      mapConstraint(
        err,
        () => `agent ${JSON.stringify(id)} conflicts with another`,
        () => `group ${JSON.stringify(patch.groupId)} does not exist`,
      );
    }
    if (changes === 0) throw notFound('agent', id);
  }
}
