import type Database from 'better-sqlite3';
import type {
  AgentCredential,
  AgentRecord,
  AgentTouch,
  CapabilityRecord,
  HostFactsRecord,
  PendingCertificate,
} from '@palisade/storage';
import { mapConstraint, notFound } from './errors.js';
import type { Statements } from './statements.js';

interface AgentRow {
  id: string;
  group_id: string;
  key_id: string;
  host: string;
  cert_fingerprint: string;
  public_key_fingerprint: string;
  cert_not_after: number | null;
  cert_ca_sha256: string | null;
  pending_cert: string | null;
  registered_at: number;
  last_seen_at: number | null;
  revoked_at: number | null;
  revocation_reason: string | null;
  decommissioned_at: number | null;
  policy_revision: number;
  capabilities: string;
  stats: string;
  pinned_ca_sha256: string;
}

const pendingOf = (json: string | null): PendingCertificate | null =>
  json === null ? null : (JSON.parse(json) as PendingCertificate);

function toRecord(r: AgentRow): AgentRecord {
  return {
    id: r.id,
    groupId: r.group_id,
    keyId: r.key_id,
    host: JSON.parse(r.host) as HostFactsRecord,
    certFingerprint: r.cert_fingerprint,
    publicKeyFingerprint: r.public_key_fingerprint,
    certNotAfter: r.cert_not_after,
    certCaSha256: r.cert_ca_sha256,
    pendingCert: pendingOf(r.pending_cert),
    registeredAt: r.registered_at,
    lastSeenAt: r.last_seen_at,
    revokedAt: r.revoked_at,
    revocationReason: r.revocation_reason,
    decommissionedAt: r.decommissioned_at,
    policyRevision: r.policy_revision,
    capabilities: JSON.parse(r.capabilities) as CapabilityRecord[],
    stats: JSON.parse(r.stats) as Record<string, number | string>,
    pinnedCaSha256: JSON.parse(r.pinned_ca_sha256) as string[],
  };
}

const COLS =
  'id, group_id, key_id, host, cert_fingerprint, public_key_fingerprint, cert_not_after, cert_ca_sha256, pending_cert, registered_at, last_seen_at, revoked_at, revocation_reason, decommissioned_at, policy_revision, capabilities, stats, pinned_ca_sha256';

const CREDENTIAL_COLS =
  'id, cert_fingerprint, cert_not_after, pending_cert, revoked_at, revocation_reason, decommissioned_at';

/** TouchUpdate is what a check-in or session reports about an agent. */
export type TouchUpdate = AgentTouch['update'];

const TOUCH = `UPDATE agents SET last_seen_at = ?, host = coalesce(?, host), machine_id = coalesce(?, machine_id),
    capabilities = coalesce(?, capabilities), stats = coalesce(?, stats),
    policy_revision = coalesce(?, policy_revision), pinned_ca_sha256 = coalesce(?, pinned_ca_sha256)
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
        .get(
          `INSERT INTO agents (${COLS}, machine_id) VALUES (${Array(COLS.split(',').length + 1)
            .fill('?')
            .join(', ')})`,
        )
        .run(
          a.id,
          a.groupId,
          a.keyId,
          JSON.stringify(a.host),
          a.certFingerprint,
          a.publicKeyFingerprint,
          a.certNotAfter,
          a.certCaSha256,
          a.pendingCert === null ? null : JSON.stringify(a.pendingCert),
          a.registeredAt,
          a.lastSeenAt,
          a.revokedAt,
          a.revocationReason,
          a.decommissionedAt,
          a.policyRevision,
          JSON.stringify(a.capabilities),
          JSON.stringify(a.stats),
          JSON.stringify(a.pinnedCaSha256),
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
        u.pinnedCaSha256 ? JSON.stringify(u.pinnedCaSha256) : null,
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

  update(
    id: string,
    patch: { groupId?: string; revokedAt?: number; revocationReason?: string; decommissionedAt?: number },
  ): void {
    let changes: number;
    try {
      changes = this.st
        .get(
          `UPDATE agents SET group_id = coalesce(?, group_id), revoked_at = coalesce(?, revoked_at),
             revocation_reason = coalesce(?, revocation_reason),
             decommissioned_at = coalesce(?, decommissioned_at)
           WHERE id = ?`,
        )
        .run(
          patch.groupId ?? null,
          patch.revokedAt ?? null,
          patch.revocationReason ?? null,
          patch.decommissionedAt ?? null,
          id,
        ).changes;
    } catch (err) {
      mapConstraint(
        err,
        () => `agent ${JSON.stringify(id)} conflicts with another`,
        () => `group ${JSON.stringify(patch.groupId)} does not exist`,
      );
    }
    if (changes === 0) throw notFound('agent', id);
  }

  /** setPending records a renewed certificate the agent has not used yet (replacing an earlier one). */
  setPending(id: string, pending: PendingCertificate): void {
    const changes = this.st
      .get('UPDATE agents SET pending_cert = ? WHERE id = ?')
      .run(JSON.stringify(pending), id).changes;
    if (changes === 0) throw notFound('agent', id);
  }

  /** promote makes the pending certificate with `fingerprint` current, in one conditional UPDATE. */
  promote(id: string, fingerprint: string): boolean {
    return (
      this.st
        .get(
          `UPDATE agents SET cert_fingerprint = pending_cert ->> '$.fingerprint',
             public_key_fingerprint = pending_cert ->> '$.publicKeyFingerprint',
             cert_not_after = pending_cert ->> '$.notAfter',
             cert_ca_sha256 = pending_cert ->> '$.caSha256',
             pending_cert = NULL
           WHERE id = ? AND pending_cert IS NOT NULL AND pending_cert ->> '$.fingerprint' = ?`,
        )
        .run(id, fingerprint).changes === 1
    );
  }

  /** countExpiring counts active agents whose certificate expires before `beforeMs`. */
  countExpiring(beforeMs: number): number {
    return (
      this.st
        .get(
          `SELECT count(*) AS n FROM agents WHERE revoked_at IS NULL AND decommissioned_at IS NULL
             AND cert_not_after < ?`,
        )
        .get(beforeMs) as { n: number }
    ).n;
  }

  /** credentials reads the credential columns of the given agents (one query, ids as a JSON array). */
  credentials(ids: string[]): AgentCredential[] {
    if (ids.length === 0) return [];
    const rows = this.st
      .get(`SELECT ${CREDENTIAL_COLS} FROM agents WHERE id IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(ids)) as Pick<
      AgentRow,
      | 'id'
      | 'cert_fingerprint'
      | 'cert_not_after'
      | 'pending_cert'
      | 'revoked_at'
      | 'revocation_reason'
      | 'decommissioned_at'
    >[];
    return rows.map((r) => ({
      id: r.id,
      certFingerprint: r.cert_fingerprint,
      certNotAfter: r.cert_not_after,
      pendingCert: pendingOf(r.pending_cert),
      revokedAt: r.revoked_at,
      revocationReason: r.revocation_reason,
      decommissionedAt: r.decommissioned_at,
    }));
  }
}
