import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ManualClock, PalisadeError } from '@palisade/common';
import { conformanceFixtures as fx, runStorageConformance } from '@palisade/storage/testing';
import { MIGRATIONS, openSqliteStorage, SCHEMA_VERSION } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-sqlite-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `db-${++n}.sqlite`);

runStorageConformance('sqlite, writer thread', () => openSqliteStorage({ path: freshPath() }));
runStorageConformance('sqlite, inline writes', () =>
  openSqliteStorage({ path: freshPath(), writerThread: false }),
);

describe('sqlite specifics', () => {
  it('sets WAL, synchronous=FULL, foreign keys and a busy timeout', async () => {
    const s = await openSqliteStorage({ path: freshPath() });
    try {
      assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(s.db.pragma('synchronous', { simple: true }), 2, 'FULL');
      assert.equal(s.db.pragma('foreign_keys', { simple: true }), 1);
      assert.ok(Number(s.db.pragma('busy_timeout', { simple: true })) >= 1000);
    } finally {
      await s.close();
    }
  });

  it('check-ins skip the fsync, but synchronous is FULL again afterwards, also after a failed one', async () => {
    const s = await openSqliteStorage({ path: freshPath(), writerThread: false });
    try {
      const g = fx.groupFixture();
      await s.createGroup(g);
      await s.createKey(fx.keyFixture(g.id, { id: 'k' }));
      await s.createAgent(fx.agentFixture(g.id, 'k', { id: 'a' }));
      await s.touchAgent('a', { lastSeenAt: 5 });
      assert.equal(s.db.pragma('synchronous', { simple: true }), 2);
      await assert.rejects(s.touchAgent('ghost', { lastSeenAt: 5 }));
      assert.equal(s.db.pragma('synchronous', { simple: true }), 2);
      assert.deepEqual(await s.touchAgents([{ id: 'a', update: { lastSeenAt: 6 } }]), []);
      assert.equal(s.db.pragma('synchronous', { simple: true }), 2);
      assert.equal((await s.getAgent('a'))?.lastSeenAt, 6);
    } finally {
      await s.close();
    }
  });

  it('migrations are recorded once: reopening and migrating again changes nothing', async () => {
    const path = freshPath();
    const clock = new ManualClock(fx.T0);
    const s1 = await openSqliteStorage({ path, clock });
    const rows1 = s1.db
      .prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version')
      .all();
    assert.equal(rows1.length, MIGRATIONS.length);
    assert.deepEqual(rows1.at(-1), {
      version: SCHEMA_VERSION,
      name: MIGRATIONS.at(-1)!.name,
      applied_at: fx.T0,
    });
    await s1.close();
    clock.advance(1000);
    const s2 = await openSqliteStorage({ path, clock });
    await s2.migrate();
    assert.deepEqual(
      s2.db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all(),
      rows1,
    );
    await s2.close();
  });

  it('refuses a database written by a newer schema version, naming both versions', async () => {
    const path = freshPath();
    await (await openSqliteStorage({ path })).close();
    const raw = new Database(path);
    raw
      .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(SCHEMA_VERSION + 5, 'from the future', 0);
    raw.close();
    await assert.rejects(openSqliteStorage({ path }), (err: unknown) => {
      assert.ok(err instanceof PalisadeError);
      assert.match(
        err.message,
        new RegExp(`schema version ${SCHEMA_VERSION + 5}, newer than .*\\(${SCHEMA_VERSION}\\)`),
      );
      assert.match(err.message, new RegExp(path.replaceAll('.', '\\.')));
      return true;
    });
  });

  it('refuses a file that is not an SQLite database, and a missing directory, with a clear error', async () => {
    const junk = join(dir, 'junk.sqlite');
    writeFileSync(junk, 'this is a text file, not a database\n'.repeat(200));
    await assert.rejects(
      openSqliteStorage({ path: junk }),
      /junk\.sqlite is not a usable SQLite database \(file is not a database\)/,
    );
    await assert.rejects(
      openSqliteStorage({ path: join(dir, 'no', 'such', 'dir', 'x.sqlite') }),
      /cannot open SQLite database .*no\/such\/dir/,
    );
  });

  it('refuses a damaged database (schema page overwritten) with a clear error naming the file', async () => {
    const path = freshPath();
    const s = await openSqliteStorage({ path, writerThread: false });
    await s.close();
    // Keep the 100-byte header (so it still looks like SQLite) and scribble over the rest of page 1.
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(3000, 0xa5), 0, 3000, 100);
    closeSync(fd);
    await assert.rejects(
      openSqliteStorage({ path }),
      new RegExp(`${path.replaceAll('.', '\\.')} is not a usable SQLite database \\(.*malformed`),
    );
  });

  for (const writerThread of [true, false]) {
    it(`keeps everything acknowledged when the writing process is killed right after the ack (SIGKILL, writerThread=${writerThread})`, async () => {
      const path = freshPath();
      const child = join(dir, `writer-${writerThread}.mjs`);
      const url = new URL('./index.js', import.meta.url).href;
      const storageUrl = import.meta.resolve('@palisade/storage/testing');
      writeFileSync(
        child,
        `import { openSqliteStorage } from ${JSON.stringify(url)};
       import { conformanceFixtures as fx } from ${JSON.stringify(storageUrl)};
       const s = await openSqliteStorage({ path: process.argv[2], writerThread: process.argv[3] === 'true' });
       const g = fx.groupFixture({ id: 'g1' }); await s.createGroup(g);
       const k = fx.keyFixture('g1', { id: 'k1' }); await s.createKey(k);
       await s.createAgent(fx.agentFixture('g1', 'k1', { id: 'a1' }));
       for (let seq = 1; seq <= 20; seq++) {
         await s.storeBatches([fx.batch('a1', seq, Array.from({ length: 50 }, (_, i) => fx.processEvent(seq * 100 + i)))]);
         process.stdout.write('acked ' + seq + '\\n');
       }
       process.kill(process.pid, 'SIGKILL');`,
      );
      const proc = spawn(process.execPath, [child, path, String(writerThread)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const signal = await new Promise<string | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          proc.kill('SIGKILL');
          reject(new Error('writer did not finish in 30 s'));
        }, 30_000);
        proc.on('exit', (_code, sig) => {
          clearTimeout(timer);
          resolve(sig);
        });
      });
      assert.equal(signal, 'SIGKILL');
      assert.match(out, /acked 20\n$/);
      const s = await openSqliteStorage({ path });
      try {
        assert.equal(await s.countEvents('a1'), 1000);
        assert.equal(await s.lastSeq('a1'), 20n);
        const found = await s.searchEvents({ limit: 10, contains: '/srv/data/run-2049' });
        assert.equal(found.events.length, 1);
        assert.equal((await s.storeBatches([fx.batch('a1', 20, [])]))[0]!.duplicate, true);
      } finally {
        await s.close();
      }
    });
  }

  it('a failed write leaves the storage serving: the next good write succeeds', async () => {
    const s = await openSqliteStorage({ path: freshPath() });
    try {
      const g = fx.groupFixture();
      await s.createGroup(g);
      await s.createKey(fx.keyFixture(g.id, { id: 'k' }));
      await s.createAgent(fx.agentFixture(g.id, 'k', { id: 'a' }));
      await assert.rejects(
        s.storeBatches([fx.batch('a', 1, [fx.processEvent(1)]), fx.batch('ghost', 1, [])]),
      );
      assert.equal(s.db.inTransaction, false);
      assert.deepEqual(await s.storeBatches([fx.batch('a', 1, [fx.processEvent(1)])]), [
        { agentId: 'a', seq: 1n, duplicate: false },
      ]);
    } finally {
      await s.close();
    }
  });
});
