import { PalisadeError } from '@palisade/common';
import type { RegistrationKeyRecord } from '@palisade/storage';
import { mapConstraint, notFound } from './errors.js';
import type { Statements } from './statements.js';

interface KeyRow {
  id: string;
  group_id: string;
  secret_hash: string;
  prefix: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  rotated_from: string | null;
  max_uses: number | null;
}

function toRecord(r: KeyRow): RegistrationKeyRecord {
  return {
    id: r.id,
    groupId: r.group_id,
    secretHash: r.secret_hash,
    prefix: r.prefix,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    rotatedFrom: r.rotated_from,
    maxUses: r.max_uses,
  };
}

const COLS = 'id, group_id, secret_hash, prefix, created_at, expires_at, revoked_at, rotated_from, max_uses';

/** Keys stores registration keys (their secrets only as hashes). */
export class Keys {
  constructor(private readonly st: Statements) {}

  create(k: RegistrationKeyRecord): void {
    try {
      this.st
        .get(`INSERT INTO registration_keys (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(
          k.id,
          k.groupId,
          k.secretHash,
          k.prefix,
          k.createdAt,
          k.expiresAt,
          k.revokedAt,
          k.rotatedFrom,
          k.maxUses,
        );
    } catch (err) {
      mapConstraint(
        err,
        () => `a registration key with id ${JSON.stringify(k.id)} or the same secret already exists`,
        () => `group ${JSON.stringify(k.groupId)} does not exist`,
      );
    }
  }

  get(id: string): RegistrationKeyRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM registration_keys WHERE id = ?`).get(id) as KeyRow | undefined;
    return r && toRecord(r);
  }

  findBySecretHash(hash: string): RegistrationKeyRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM registration_keys WHERE secret_hash = ?`).get(hash) as
      | KeyRow
      | undefined;
    return r && toRecord(r);
  }

  /** list returns the keys of one group, or all keys, oldest first. */
  list(groupId?: string): RegistrationKeyRecord[] {
    const rows =
      groupId === undefined
        ? this.st.get(`SELECT ${COLS} FROM registration_keys ORDER BY created_at, id`).all()
        : this.st
            .get(`SELECT ${COLS} FROM registration_keys WHERE group_id = ? ORDER BY created_at, id`)
            .all(groupId);
    return (rows as KeyRow[]).map(toRecord);
  }

  revoke(id: string, at: number): void {
    const { changes } = this.st.get('UPDATE registration_keys SET revoked_at = ? WHERE id = ?').run(at, id);
    if (changes === 0) throw notFound('registration key', id);
  }

  /**
   * checkQuota refuses (`exhausted_registration_key`) one more registration with key `id` when its
   * quota is used up. Call it in the transaction that inserts the agent.
   */
  checkQuota(id: string): void {
    const r = this.st
      .get(
        'SELECT k.max_uses AS max, k.prefix AS prefix, (SELECT count(*) FROM agents a WHERE a.key_id = k.id) AS used FROM registration_keys k WHERE k.id = ?',
      )
      .get(id) as { max: number | null; prefix: string; used: number } | undefined;
    if (r && r.max !== null && r.used >= r.max) {
      throw new PalisadeError(
        'exhausted_registration_key',
        `registration key ${r.prefix}… has been used ${r.used} of ${r.max} times; ask the operator for another key`,
      );
    }
  }

  /** countRegistrations maps each key with at least one agent to its number of agents. */
  countRegistrations(): Map<string, number> {
    const rows = this.st.get('SELECT key_id, count(*) AS n FROM agents GROUP BY key_id').all() as {
      key_id: string;
      n: number;
    }[];
    return new Map(rows.map((r) => [r.key_id, r.n]));
  }
}
