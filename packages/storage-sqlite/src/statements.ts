import type Database from 'better-sqlite3';

/**
 * Statements prepares each SQL text once and hands out the cached statement afterwards: preparing
 * costs far more than running, and searches build their SQL from the filters they use, so the
 * number of distinct texts stays small (one per combination of filters).
 */
export class Statements {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** get returns the prepared statement for `sql`, preparing it on first use. */
  get(sql: string): Database.Statement {
    let st = this.cache.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.cache.set(sql, st);
    }
    return st;
  }

  /** getSafeIntegers is `get` for statements that read 64-bit integers as bigint (sequence numbers). */
  getSafeIntegers(sql: string): Database.Statement {
    const key = `/*bigint*/${sql}`;
    let st = this.cache.get(key);
    if (!st) {
      st = this.db.prepare(sql).safeIntegers(true);
      this.cache.set(key, st);
    }
    return st;
  }
}
