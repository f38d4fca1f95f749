import Database from 'better-sqlite3';
import { PalisadeError } from '@palisade/common';

/** BUSY_TIMEOUT_MS is how long a write waits for another connection's lock. @default 5000 */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * openDatabase opens (or creates) the SQLite file at `path` and sets the pragmas Palisade relies
 * on: WAL (readers never block the writer), synchronous=FULL (a commit is fsynced before it
 * returns, so an ack means the batch survives power loss), foreign keys, a busy timeout. A file
 * that is not an SQLite database, or is damaged, is refused with an error naming it.
 * `cacheMiB` is the page cache of this connection. @default 64
 */
export function openDatabase(path: string, opts: { cacheMiB?: number } = {}): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (err) {
    throw new PalisadeError('internal', `cannot open SQLite database ${path}: ${(err as Error).message}`, {
      path,
    });
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Reading the schema is the first access to the file's header: a non-SQLite file fails here.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`journal_mode stayed ${String(mode)}, WAL is required`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Page cache per connection: the batch index and the b-tree interiors stay in memory.
    db.pragma(`cache_size = -${(opts.cacheMiB ?? 64) * 1024}`);
  } catch (err) {
    db.close();
    throw new PalisadeError(
      'internal',
      `${path} is not a usable SQLite database (${(err as Error).message}); move it aside or restore a backup`,
      { path },
    );
  }
  return db;
}
