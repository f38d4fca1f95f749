/** @palisade/storage-sqlite is the embedded default storage back end, on SQLite (better-sqlite3). */
export { openSqliteStorage, SqliteStorage, type SqliteStorageOptions } from './sqlite-storage.js';
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
