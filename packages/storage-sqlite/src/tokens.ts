import type { ApiTokenRecord, Role } from '@palisade/storage';
import { mapConstraint, notFound } from './errors.js';
import type { Statements } from './statements.js';

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
  expires_at: number | null;
}

function toRecord(r: TokenRow): ApiTokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    secretHash: r.secret_hash,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    expiresAt: r.expires_at,
  };
}

const COLS = 'id, name, role, secret_hash, created_at, revoked_at, expires_at';

/** Tokens stores named API tokens (secrets only as hashes). */
export class Tokens {
  constructor(private readonly st: Statements) {}

  create(t: ApiTokenRecord): void {
    try {
      this.st
        .get(`INSERT INTO api_tokens (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)`)
        .run(t.id, t.name, t.role, t.secretHash, t.createdAt, t.revokedAt, t.expiresAt);
    } catch (err) {
      mapConstraint(
        err,
        () => `an API token with id ${JSON.stringify(t.id)} or the same secret already exists`,
        () => 'API token references a missing record',
      );
    }
  }

  findBySecretHash(hash: string): ApiTokenRecord | undefined {
    const r = this.st.get(`SELECT ${COLS} FROM api_tokens WHERE secret_hash = ?`).get(hash) as
      | TokenRow
      | undefined;
    return r && toRecord(r);
  }

  /** list returns every token, oldest first. */
  list(): ApiTokenRecord[] {
    return (this.st.get(`SELECT ${COLS} FROM api_tokens ORDER BY created_at, id`).all() as TokenRow[]).map(
      toRecord,
    );
  }

  revoke(id: string, at: number): void {
    const { changes } = this.st.get('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(at, id);
    if (changes === 0) throw notFound('API token', id);
  }
}
