/**
 * raw-insert.bench compares the event storage layouts on this machine (a benchmark, not a test):
 * it stores N realistic process events in batches of 500 through SqliteStorage (a batch per row)
 * in several modes, through bare SQL with the rows prepared beforehand (the limit SQLite sets),
 * and through the row-per-event alternative, then times searches over them. Prints a table; the
 * last line is one JSON object with the headline figures.
 *
 *   node packages/storage-sqlite/dist/raw-insert.bench.js [events=500000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { create, EventBatchSchema, type Event, OcsfClass, toBinary } from '@palisade/protocol';
import type { IncomingBatch } from '@palisade/storage';
import { conformanceFixtures as fx } from '@palisade/storage/testing';
import { compressSync } from 'lz4-napi';
import { describeBatch } from './batch-encoding.js';
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

/** The batch stream: agents send batches in turn; one needle and one auth event sit in the middle. */
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

function chunks<T>(xs: Iterable<T>, n: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  for (const x of xs) {
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

async function timeMs(fn: () => unknown, repeat = 5): Promise<number> {
  await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) await fn();
  return (seconds(t0) * 1000) / repeat;
}

interface Row {
  scenario: string;
  eventsPerSec: number;
  mainUsPerEvent: number | null;
  note: string;
}
const rows: Row[] = [];
const dbSize = (p: string) => statSync(p).size + (statSync(`${p}-wal`, { throwIfNoEntry: false })?.size ?? 0);

interface Mode {
  name: string;
  perCommit: number;
  withBody: boolean;
  writerThread: boolean;
  inFlight: number;
}

/** Stores the stream through SqliteStorage; `inFlight` calls overlap as the server's pipeline would. */
async function storageScenario(m: Mode, keepOpen = false): Promise<SqliteStorage | undefined> {
  const path = join(dir, `${m.name.replace(/[^a-z0-9]+/gi, '-')}.sqlite`);
  const s = await openSqliteStorage({ path, writerThread: m.writerThread });
  await seedAgents(s);
  const calls = chunks(batches(m.withBody), m.perCommit);
  const elu0 = performance.eventLoopUtilization();
  const t0 = process.hrtime.bigint();
  const inFlight = new Set<Promise<unknown>>();
  for (const c of calls) {
    const p: Promise<unknown> = s.storeBatches(c).then(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= m.inFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const dt = seconds(t0);
  const elu = performance.eventLoopUtilization(elu0);
  const n = await s.countEvents();
  rows.push({
    scenario: m.name,
    eventsPerSec: Math.round(n / dt),
    mainUsPerEvent: Number(((elu.active * 1000) / n).toFixed(2)),
    note: `${m.perCommit} batch(es)/commit, ${(dbSize(path) / n).toFixed(0)} B/event on disk`,
  });
  if (keepOpen) return s;
  await s.close();
  return undefined;
}

/** Bare SQL: the same rows and indexes, encoded and compressed beforehand: SQLite and fsync only. */
async function bareScenario(): Promise<void> {
  const path = join(dir, 'bare.sqlite');
  const s = await openSqliteStorage({ path, writerThread: false });
  await seedAgents(s);
  await s.close();
  const prepared = chunks(
    [...batches(true)].map((b) => {
      const r = describeBatch(b);
      return { ...r, body: compressSync(Buffer.from(r.body!)) };
    }),
    GROUP_COMMIT,
  );
  const db = openDatabase(path);
  const ins = db.prepare(
    'INSERT INTO batches (agent_id, seq, received_at, event_count, min_time, max_time, kinds) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insD = db.prepare('INSERT INTO batch_events (batch_id, search_text, body) VALUES (?, ?, ?)');
  const tx = db.transaction((bs: (typeof prepared)[0]) => {
    for (const b of bs) {
      const r = ins.run(b.agentId, b.seq, b.receivedAt, b.count, b.minTime, b.maxTime, b.kinds);
      insD.run(r.lastInsertRowid, b.text, b.body);
    }
  });
  const t0 = process.hrtime.bigint();
  for (const c of prepared) tx.immediate(c);
  rows.push({
    scenario: 'bare SQL, batch per row',
    eventsPerSec: Math.round(TOTAL / seconds(t0)),
    mainUsPerEvent: null,
    note: `${GROUP_COMMIT} batches/commit, rows encoded and compressed beforehand`,
  });
  db.close();
}

/** The alternative layout: a row per event, each with its own protobuf BLOB and three indexes. */
function rowScenario(): RowLayout {
  const rowPath = join(dir, 'rows.sqlite');
  const rowDb = openDatabase(rowPath);
  const layout = new RowLayout(rowDb);
  const calls = chunks(
    [...batches(false)].map((b) => ({ agentId: b.agentId, seq: Number(b.seq), events: b.events })),
    GROUP_COMMIT,
  );
  const t0 = process.hrtime.bigint();
  for (const c of calls) layout.store(c);
  rows.push({
    scenario: 'row per event (alternative)',
    eventsPerSec: Math.round(TOTAL / seconds(t0)),
    mainUsPerEvent: null,
    note: `${GROUP_COMMIT} batches/commit, 3 indexes, ${(dbSize(rowPath) / TOTAL).toFixed(0)} B/event on disk`,
  });
  return layout;
}

async function main(): Promise<void> {
  console.log(`storing ${TOTAL} process events, batches of ${BATCH}, ${AGENTS} agents, db in ${dir}`);
  const base = { withBody: false, writerThread: false, inFlight: 1 };
  await storageScenario({ ...base, name: 'storage, 1 batch/commit', perCommit: 1 });
  await storageScenario({ ...base, name: 'storage, group commit', perCommit: GROUP_COMMIT });
  await storageScenario({
    ...base,
    name: 'storage, group commit, body given',
    perCommit: GROUP_COMMIT,
    withBody: true,
  });
  const main = (await storageScenario(
    {
      name: 'storage, body given, writer thread, 2 in flight',
      perCommit: GROUP_COMMIT,
      withBody: true,
      writerThread: true,
      inFlight: 2,
    },
    true,
  ))!;
  await bareScenario();
  const rowLayout = rowScenario();

  const search = {
    containsRare: await timeMs(() => main.searchEvents({ limit: 100, contains: NEEDLE })),
    containsCommon: await timeMs(() => main.searchEvents({ limit: 100, contains: 'worker.py' })),
    containsNone: await timeMs(() => main.searchEvents({ limit: 100, contains: 'absent-text-xyz' })),
    rareClass: await timeMs(() => main.searchEvents({ limit: 100, classUid: OcsfClass.Authentication })),
    byAgent: await timeMs(() => main.searchEvents({ limit: 100, agentId: 'agent-7' })),
    timeWindow: await timeMs(() =>
      main.searchEvents({ limit: 100, fromMs: BASE_MS + 1000, toMs: BASE_MS + 1100 }),
    ),
    rowLayoutContainsRare: await timeMs(() => rowLayout.contains(NEEDLE, 100)),
    rowLayoutContainsNone: await timeMs(() => rowLayout.contains('absent-text-xyz', 100)),
  };
  const found = await main.searchEvents({ limit: 100, contains: NEEDLE });
  if (found.events.length !== 1)
    throw new Error(`needle search found ${found.events.length} events, expected 1`);
  await main.close();
  rowLayout.close();

  console.log('\nscenario                                          events/s  main-thread µs/event  note');
  for (const r of rows) {
    console.log(
      `${r.scenario.padEnd(48)} ${String(r.eventsPerSec).padStart(9)}  ${String(r.mainUsPerEvent ?? '-').padStart(20)}  ${r.note}`,
    );
  }
  console.log(`\nsearch over ${TOTAL} events (ms per query, limit 100)`);
  for (const [k, v] of Object.entries(search)) console.log(`${k.padEnd(24)} ${v.toFixed(2).padStart(9)}`);
  rmSync(dir, { recursive: true, force: true });
  const rate = (name: string) => rows.find((r) => r.scenario.startsWith(name))!.eventsPerSec;
  console.log(
    JSON.stringify({
      events: TOTAL,
      storeEventsPerSec: rate('storage, body given, writer thread'),
      storeMainThreadUsPerEvent: rows[3]!.mainUsPerEvent,
      storeInlineBodyGivenEventsPerSec: rate('storage, group commit, body given'),
      storeInlineEncodingEventsPerSec: rate('storage, group commit'),
      storeSingleBatchCommitEventsPerSec: rate('storage, 1 batch/commit'),
      bareSqlEventsPerSec: rate('bare SQL'),
      rowPerEventEventsPerSec: rate('row per event'),
      searchMs: Object.fromEntries(Object.entries(search).map(([k, v]) => [k, Number(v.toFixed(2))])),
    }),
  );
}

main().catch((err) => {
  rmSync(dir, { recursive: true, force: true });
  console.error(err);
  process.exit(1);
});
