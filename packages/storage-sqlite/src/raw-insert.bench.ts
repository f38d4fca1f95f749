/**
 * raw-insert.bench compares the event storage layouts on this machine (a benchmark, not a test):
 * it stores N realistic process events in batches of 500 through SqliteStorage (a batch per row)
 * and through the row-per-event alternative, then times searches over them. Prints a table; the
 * last line is one JSON object with the headline figures.
 *
 *   node packages/storage-sqlite/dist/raw-insert.bench.js [events=500000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, EventBatchSchema, type Event, OcsfClass, toBinary } from '@palisade/protocol';
import { conformanceFixtures as fx, type IncomingBatch } from '@palisade/storage';
import { prepareBatch } from './batch-encoding.js';
import { benchProcessEvent } from './bench-events.js';
import { openDatabase } from './database.js';
import { openSqliteStorage, type SqliteStorage } from './index.js';
import { RowLayout } from './row-layout.js';

const TOTAL = Number(process.argv[2] ?? 500_000);
const BATCH = 500;
const AGENTS = 50;
const GROUP_COMMIT = 8;
const POOL = 20_000;
const NEEDLE = 'needle-7f3a9c';
const BASE_MS = Date.UTC(2026, 10, 26);

const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
const pool = Array.from({ length: POOL }, (_, i) => benchProcessEvent(i, BASE_MS));
const agentIds = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);

/** The batch stream: every agent sends batches in turn; one needle and one auth event sit in the middle. */
function* batches(withBody: boolean): Generator<IncomingBatch> {
  const nBatches = Math.ceil(TOTAL / BATCH);
  for (let b = 0; b < nBatches; b++) {
    const start = (b * BATCH) % POOL;
    let events: Event[] = pool.slice(start, start + BATCH);
    if (b === Math.floor(nBatches / 2)) {
      events = [...events];
      events[7] = benchProcessEvent(1, BASE_MS);
      events[7].process!.cmdLine = `/usr/bin/wget http://198.51.100.9/${NEEDLE}`;
      events[8] = fx.authEvent(1, 'sshd[77]: Failed password for root from 203.0.113.4');
    }
    const batch: IncomingBatch = {
      agentId: agentIds[b % AGENTS]!,
      seq: BigInt(Math.floor(b / AGENTS) + 1),
      events,
      receivedAt: BASE_MS,
    };
    if (withBody) batch.body = toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
    yield batch;
  }
}

async function seedAgents(s: SqliteStorage): Promise<void> {
  const g = fx.groupFixture({ id: 'g' });
  await s.createGroup(g);
  await s.createKey(fx.keyFixture('g', { id: 'k' }));
  for (const id of agentIds) await s.createAgent(fx.agentFixture('g', 'k', { id }));
}

function chunks<T>(it: Iterable<T>, n: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  for (const x of it) {
    cur.push(x);
    if (cur.length === n) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function timeMs(fn: () => unknown, repeat = 5): number {
  fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) fn();
  return (seconds(t0) * 1000) / repeat;
}

const rows: { scenario: string; eventsPerSec: number; note: string }[] = [];
const dbSize = (p: string) => statSync(p).size + (statSync(`${p}-wal`, { throwIfNoEntry: false })?.size ?? 0);

async function storageScenario(name: string, perTx: number, withBody: boolean): Promise<SqliteStorage> {
  const path = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.sqlite`);
  const s = await openSqliteStorage({ path });
  await seedAgents(s);
  const calls = chunks(batches(withBody), perTx);
  const t0 = process.hrtime.bigint();
  for (const c of calls) await s.storeBatches(c);
  const dt = seconds(t0);
  const n = await s.countEvents();
  rows.push({
    scenario: name,
    eventsPerSec: Math.round(n / dt),
    note: `${n} events, ${perTx} batch(es)/commit, ${(dbSize(path) / n).toFixed(0)} B/event on disk`,
  });
  return s;
}

/** Bare SQL: the same rows and indexes, prepared beforehand: the limit SQLite itself sets. */
async function bareScenario(): Promise<void> {
  const path = join(dir, 'bare.sqlite');
  const s = await openSqliteStorage({ path });
  await seedAgents(s);
  const prepared = chunks([...batches(true)].map(prepareBatch), GROUP_COMMIT);
  await s.close();
  const db = openDatabase(path);
  const ins = db.prepare(
    'INSERT INTO batches (agent_id, seq, received_at, event_count, min_time, max_time, kinds) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insD = db.prepare('INSERT INTO batch_events (batch_id, search_text, body) VALUES (?, ?, ?)');
  const tx = db.transaction((bs: ReturnType<typeof prepareBatch>[]) => {
    for (const b of bs) {
      const r = ins.run(b.agentId, b.seq, b.receivedAt, b.count, b.minTime, b.maxTime, b.kinds);
      insD.run(r.lastInsertRowid, b.text, b.body);
    }
  });
  const t0 = process.hrtime.bigint();
  for (const c of prepared) tx.immediate(c);
  const dt = seconds(t0);
  rows.push({
    scenario: 'bare SQL, batch per row',
    eventsPerSec: Math.round(TOTAL / dt),
    note: 'rows encoded beforehand; SQLite + fsync only',
  });
  db.close();
}

async function main(): Promise<void> {
  console.log(`storing ${TOTAL} process events, batches of ${BATCH}, ${AGENTS} agents, db in ${dir}`);
  const single = await storageScenario('storage, 1 batch/commit', 1, false);
  await single.close();
  const grouped = await storageScenario('storage, group commit', GROUP_COMMIT, false);
  const withBody = await storageScenario('storage, group commit, body given', GROUP_COMMIT, true);
  await withBody.close();
  await bareScenario();

  const rowPath = join(dir, 'rows.sqlite');
  const rowDb = openDatabase(rowPath);
  const rowLayout = new RowLayout(rowDb);
  const rowCalls = chunks(
    [...batches(false)].map((b) => ({ agentId: b.agentId, seq: Number(b.seq), events: b.events })),
    GROUP_COMMIT,
  );
  const t0 = process.hrtime.bigint();
  for (const c of rowCalls) rowLayout.store(c);
  const rowRate = Math.round(TOTAL / seconds(t0));
  rows.push({
    scenario: 'row per event (alternative)',
    eventsPerSec: rowRate,
    note: `group commit, 3 indexes, ${(dbSize(rowPath) / TOTAL).toFixed(0)} B/event on disk`,
  });

  const search = {
    containsRare: timeMs(() => grouped.searchEvents({ limit: 100, contains: NEEDLE })),
    containsCommon: timeMs(() => grouped.searchEvents({ limit: 100, contains: 'worker.py' })),
    containsNone: timeMs(() => grouped.searchEvents({ limit: 100, contains: 'absent-text-xyz' })),
    rareClass: timeMs(() => grouped.searchEvents({ limit: 100, classUid: OcsfClass.Authentication })),
    byAgent: timeMs(() => grouped.searchEvents({ limit: 100, agentId: 'agent-7' })),
    rowContainsRare: timeMs(() => rowLayout.contains(NEEDLE, 100)),
    rowContainsNone: timeMs(() => rowLayout.contains('absent-text-xyz', 100)),
  };
  const found = await grouped.searchEvents({ limit: 100, contains: NEEDLE });
  if (found.events.length !== 1)
    throw new Error(`needle search found ${found.events.length} events, expected 1`);
  await grouped.close();
  rowDb.close();

  console.log('\nscenario                                   events/s  note');
  for (const r of rows)
    console.log(`${r.scenario.padEnd(42)} ${String(r.eventsPerSec).padStart(9)}  ${r.note}`);
  console.log(`\nsearch over ${TOTAL} events (ms per query, limit 100)`);
  for (const [k, v] of Object.entries(search)) console.log(`${k.padEnd(20)} ${v.toFixed(2).padStart(9)}`);
  rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      events: TOTAL,
      storeEventsPerSec: rows[1]!.eventsPerSec,
      storeSingleBatchEventsPerSec: rows[0]!.eventsPerSec,
      storeWithBodyEventsPerSec: rows[2]!.eventsPerSec,
      bareSqlEventsPerSec: rows[3]!.eventsPerSec,
      rowPerEventEventsPerSec: rowRate,
      searchMs: Object.fromEntries(Object.entries(search).map(([k, v]) => [k, Number(v.toFixed(2))])),
    }),
  );
}

main().catch((err) => {
  rmSync(dir, { recursive: true, force: true });
  console.error(err);
  process.exit(1);
});
