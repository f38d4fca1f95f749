import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { create, EventBatchSchema, toBinary } from '@palisade/protocol';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { makeProcessEvent, type PreparedBatch, prepareBatch, SimulatedAgent } from '@palisade/testkit';
import { cpuSeconds, percentile, rssMb } from './proc-stats.js';
import { stopChild } from './agent-proc.js';
import { type BenchServer, startServerProcess } from './server-proc.js';
import { printTable, progress } from './table.js';

const { values: opts } = parseArgs({
  options: {
    agents: { type: 'string', default: '10,100,1000' },
    batch: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    window: { type: 'string', default: '4' },
  },
});
const AGENT_COUNTS = opts.agents.split(',').map(Number);
const BATCH = Number(opts.batch);
const SECONDS = Number(opts.seconds);
const WINDOW = Number(opts.window);

function startServer(dataDir: string): Promise<BenchServer> {
  // BENCH_SERVER_NODE_FLAGS passes node flags to the server only (e.g. "--cpu-prof --cpu-prof-dir=DIR").
  const nodeFlags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return startServerProcess(dataDir, { nodeFlags });
}

/** Distinct batches, compressed once: realistic process events, `BATCH` per batch. */
function makeBatches(count: number): PreparedBatch[] {
  return Array.from({ length: count }, (_, b) =>
    prepareBatch(Array.from({ length: BATCH }, (_, i) => makeProcessEvent(b * BATCH + i))),
  );
}

interface Result {
  agents: number;
  acked: number;
  eventsPerSec: number;
  p50: number;
  p99: number;
  serverCpuPct: number;
  serverRssMb: number;
  stored: number;
}

async function runScenario(agents: number, batches: PreparedBatch[]): Promise<Result> {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-bench-ingest-'));
  const { child, client, key, ca: caPem } = await startServer(dataDir);
  try {
    progress(`${agents} agents: registering`);
    const sims: SimulatedAgent[] = [];
    for (let i = 0; i < agents; i += 50) {
      const group = await Promise.all(
        Array.from({ length: Math.min(50, agents - i) }, () =>
          SimulatedAgent.register({ registrationUrl: client.registrationUrl, registrationKey: key, caPem }),
        ),
      );
      sims.push(...group);
    }
    progress(`${agents} agents: connecting`);
    for (let i = 0; i < sims.length; i += 100) {
      await Promise.all(sims.slice(i, i + 100).map((s) => s.connect({ window: WINDOW })));
    }
    const latencies: number[] = [];
    let acked = 0;
    let running = true;
    const cpu0 = cpuSeconds(child.pid!);
    const t0 = performance.now();
    const pump = async (s: SimulatedAgent, k: number) => {
      const inflight = new Set<Promise<void>>();
      let n = k;
      while (running) {
        const sent = performance.now();
        const p: Promise<void> = s.sendBatch(batches[n++ % batches.length]!).then((ack) => {
          if (!ack.duplicate) acked += BATCH;
          latencies.push(performance.now() - sent);
          inflight.delete(p);
        });
        inflight.add(p);
        if (inflight.size >= WINDOW) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    };
    const ticker = setInterval(() => {
      const s = (performance.now() - t0) / 1000;
      progress(
        `${agents} agents: ${s.toFixed(0)} s, ${Math.round(acked / s).toLocaleString('en-US')} events/s acked`,
      );
    }, 2000);
    const pumps = sims.map((s, i) => pump(s, i));
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    running = false;
    await Promise.all(pumps);
    clearInterval(ticker);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(child.pid!) - cpu0;
    const mem = rssMb(child.pid!);
    await Promise.all(sims.map((s) => s.close()));
    await stopChild(child);
    // Every acked event must be in storage exactly once.
    const storage = await openSqliteStorage({ path: join(dataDir, 'palisade.db') });
    const stored = await storage.countEvents();
    await storage.close();
    latencies.sort((a, b) => a - b);
    return {
      agents,
      acked,
      eventsPerSec: acked / elapsed,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      serverCpuPct: (cpu / elapsed) * 100,
      serverRssMb: mem.peak,
      stored,
    };
  } finally {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The same rows through the storage layer alone, in this process: the limit to approach. */
async function rawInsert(batches: PreparedBatch[], totalEvents: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-raw-'));
  const storage = await openSqliteStorage({ path: join(dir, 'raw.db') });
  await storage.migrate();
  const now = Date.now();
  await storage.createGroup({
    id: 'raw-group',
    name: 'raw',
    createdAt: now,
    policy: { revision: 1, tier: 'server', channel: 'stable', maintenanceWindow: 'always' },
  });
  await storage.createKey({
    id: 'raw-key',
    groupId: 'raw-group',
    secretHash: 'x',
    prefix: 'x',
    createdAt: now,
    expiresAt: now + 1e10,
    revokedAt: null,
    rotatedFrom: null,
    maxUses: null,
  });
  await storage.createAgent({
    id: 'raw-agent',
    groupId: 'raw-group',
    keyId: 'raw-key',
    host: {
      hostname: 'raw',
      os: 'linux',
      osVersion: '',
      kernel: '',
      arch: 'x64',
      machineId: 'raw',
      agentVersion: '0',
      ipAddresses: [],
    },
    certFingerprint: 'x',
    publicKeyFingerprint: 'x',
    certNotAfter: null,
    certCaSha256: null,
    pendingCert: null,
    registeredAt: now,
    lastSeenAt: null,
    revokedAt: null,
    revocationReason: null,
    decommissionedAt: null,
    policyRevision: 0,
    capabilities: [],
    stats: {},
    pinnedCaSha256: [],
  });
  const events = Array.from({ length: BATCH }, (_, i) => makeProcessEvent(i));
  // The server hands storage the decompressed batch bytes it already has; do the same here.
  const body = toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
  const groupOf = 8; // batches per transaction, as the server's group commit does under load
  let seq = 0n;
  const t0 = performance.now();
  for (let done = 0; done < totalEvents; done += BATCH * groupOf) {
    const group = Array.from({ length: groupOf }, () => ({
      agentId: 'raw-agent',
      seq: ++seq,
      events,
      body,
      receivedAt: Date.now(),
    }));
    await storage.storeBatches(group);
  }
  const rate = (Number(seq) * BATCH) / ((performance.now() - t0) / 1000);
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  void batches;
  return rate;
}

const batches = makeBatches(16);
const results: Result[] = [];
for (const n of AGENT_COUNTS) results.push(await runScenario(n, batches));
// The limit is the best the storage does: the raw insert runs three times (the machine is shared
// and noisy) and the fastest counts, which makes the ratio below the conservative one.
const rawRuns: number[] = [];
for (let i = 1; i <= 3; i++) {
  progress(`raw SQLite insert of the same rows, run ${i} of 3`);
  rawRuns.push(await rawInsert(batches, 1_000_000));
}
const raw = Math.max(...rawRuns);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
printTable(
  `bench:ingest — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), batch ${BATCH} events, window ${WINDOW}, ${SECONDS} s per row`,
  [
    'agents',
    'events acked',
    'events/s',
    'p50 ms',
    'p99 ms',
    'server CPU %',
    'server peak RSS MB',
    'stored = acked',
  ],
  results.map((r) => [
    r.agents,
    fmt(r.acked),
    fmt(r.eventsPerSec),
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    r.serverCpuPct.toFixed(0),
    r.serverRssMb.toFixed(0),
    r.stored === r.acked ? 'yes' : `NO (${r.stored})`,
  ]),
);
printTable(
  'raw storage limit (same rows, same indexes, no network)',
  ['events/s (best of 3)', 'the 3 runs', 'best end-to-end / raw'],
  [
    [
      fmt(raw),
      rawRuns.map(fmt).join(' / '),
      `${((Math.max(...results.map((r) => r.eventsPerSec)) / raw) * 100).toFixed(0)}%`,
    ],
  ],
);
const best = results.reduce((a, b) => (b.eventsPerSec > a.eventsPerSec ? b : a));
process.stdout.write(
  `${JSON.stringify({
    bench: 'ingest',
    best_events_per_sec: Math.round(best.eventsPerSec),
    best_agents: best.agents,
    p50_ms: Number(best.p50.toFixed(1)),
    p99_ms: Number(best.p99.toFixed(1)),
    server_cpu_pct: Math.round(best.serverCpuPct),
    server_peak_rss_mb: Math.round(best.serverRssMb),
    raw_insert_events_per_sec: Math.round(raw),
    ratio_to_raw: Number((best.eventsPerSec / raw).toFixed(2)),
    exactly_once: results.every((r) => r.stored === r.acked),
  })}\n`,
);
