import { PalisadeError } from '@palisade/common';

/** sqliteCode returns the extended SQLite result code of an error (e.g. SQLITE_CONSTRAINT_UNIQUE), if any. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** isUniqueViolation tells whether `err` is a UNIQUE or PRIMARY KEY constraint failure. */
export function isUniqueViolation(err: unknown): boolean {
  const c = sqliteCode(err);
  return c === 'SQLITE_CONSTRAINT_UNIQUE' || c === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** isForeignKeyViolation tells whether `err` is a FOREIGN KEY constraint failure. */
export function isForeignKeyViolation(err: unknown): boolean {
  return sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * mapConstraint turns the constraint failures of a write into PalisadeErrors that say what was
 * wrong (`conflict` for a taken id/name, `not_found` for a missing referenced record) and rethrows
 * anything else unchanged.
 */
export function mapConstraint(err: unknown, onUnique: () => string, onForeignKey: () => string): never {
  if (isUniqueViolation(err)) throw new PalisadeError('conflict', onUnique());
  if (isForeignKeyViolation(err)) throw new PalisadeError('not_found', onForeignKey());
  throw err;
}

/** notFound builds the error for an update of a record that does not exist. */
export function notFound(what: string, id: string): PalisadeError {
  return new PalisadeError('not_found', `${what} ${JSON.stringify(id)} does not exist`);
}
