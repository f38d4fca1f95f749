import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock, silentLogger } from '@palisade/common';
import { openDatabase } from './database.js';
import { MIGRATIONS, type Migration, migrate, schemaVersion } from './migrations.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-migrations-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const m1: Migration = {
  version: 1,
  name: 'notes',
  sql: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)',
};
const m2: Migration = { version: 2, name: 'note tags', sql: 'ALTER TABLE notes ADD COLUMN tag TEXT' };
const broken: Migration = {
  version: 3,
  name: 'broken',
  sql: 'CREATE TABLE half_done (x INTEGER); ALTER TABLE no_such_table ADD COLUMN y TEXT',
};

describe('migration runner', () => {
  it('applies only the migrations a database lacks, in order, and records each once', () => {
    const path = join(dir, `m-${++n}.sqlite`);
    const clock = new ManualClock(1000);
    const db = openDatabase(path);
    try {
      migrate(db, path, clock, silentLogger, [m1]);
      db.prepare("INSERT INTO notes (body) VALUES ('kept')").run();
      clock.set(2000);
      migrate(db, path, clock, silentLogger, [m1, m2]);
      migrate(db, path, clock, silentLogger, [m1, m2]);
      assert.equal(schemaVersion(db), 2);
      assert.deepEqual(
        db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all(),
        [
          { version: 1, applied_at: 1000 },
          { version: 2, applied_at: 2000 },
        ],
      );
      assert.deepEqual(db.prepare('SELECT body, tag FROM notes').all(), [{ body: 'kept', tag: null }]);
    } finally {
      db.close();
    }
  });

  it('a failing migration leaves nothing half-applied and the version unchanged', () => {
    const path = join(dir, `m-${++n}.sqlite`);
    const db = openDatabase(path);
    try {
      migrate(db, path, new ManualClock(), silentLogger, [m1, m2]);
      assert.throws(
        () => migrate(db, path, new ManualClock(), silentLogger, [m1, m2, broken]),
        /no_such_table/,
      );
      assert.equal(schemaVersion(db), 2);
      const half = db.prepare("SELECT name FROM sqlite_schema WHERE name = 'half_done'").get();
      assert.equal(half, undefined, 'the first statement of the failed migration was rolled back');
      assert.equal(db.inTransaction, false);
    } finally {
      db.close();
    }
  });

  it('refuses to run against a database from a newer schema, changing nothing', () => {
    const path = join(dir, `m-${++n}.sqlite`);
    const db = openDatabase(path);
    try {
      migrate(db, path, new ManualClock(), silentLogger, [m1, m2]);
      assert.throws(
        () => migrate(db, path, new ManualClock(), silentLogger, [m1]),
        /schema version 2, newer than the newest this Palisade build knows \(1\)/,
      );
      assert.equal(schemaVersion(db), 2);
    } finally {
      db.close();
    }
  });

  it('migration 11 keeps every API token and then allows the metrics role', () => {
    const path = join(dir, `m-${++n}.sqlite`);
    const db = openDatabase(path);
    try {
      const before = MIGRATIONS.filter((m) => m.version < 11);
      migrate(db, path, new ManualClock(), silentLogger, before);
      const insert = db.prepare(
        'INSERT INTO api_tokens (id, name, role, secret_hash, created_at, revoked_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run('t1', 'admin', 'admin', 'h1', 1, null, null);
      insert.run('t2', 'old', 'viewer', 'h2', 2, 3, 4);
      assert.throws(() => insert.run('t3', 'scraper', 'metrics', 'h3', 5, null, null), /CHECK constraint/);
      migrate(db, path, new ManualClock(), silentLogger);
      assert.deepEqual(
        db
          .prepare(
            'SELECT id, name, role, secret_hash, created_at, revoked_at, expires_at FROM api_tokens ORDER BY id',
          )
          .all(),
        [
          {
            id: 't1',
            name: 'admin',
            role: 'admin',
            secret_hash: 'h1',
            created_at: 1,
            revoked_at: null,
            expires_at: null,
          },
          {
            id: 't2',
            name: 'old',
            role: 'viewer',
            secret_hash: 'h2',
            created_at: 2,
            revoked_at: 3,
            expires_at: 4,
          },
        ],
      );
      insert.run('t3', 'scraper', 'metrics', 'h3', 5, null, null);
      assert.throws(() => insert.run('t4', 'x', 'root', 'h4', 6, null, null), /CHECK constraint/);
      assert.throws(() => insert.run('t5', 'dup', 'viewer', 'h1', 6, null, null), /UNIQUE/);
    } finally {
      db.close();
    }
  });
});
