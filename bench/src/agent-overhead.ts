/**
 * agent-overhead (npm run bench:agent): endpoint overhead of the REAL agent, side by side with
 * auditd. A `palisade server` process (ephemeral loopback ports, temp data dir) and a
 * `palisade agent --tier workstation` process registered to it; loads are driven on this host
 * and each event counted as captured only once it is stored on the server (searched by a marker
 * in argv or path). CPU per event is the agent's Node process plus its helper `palisade-sensor`
 * (from /proc/<pid>/stat), peak RSS is VmHWM of both. The same exec loads are then run against
 * auditd with an execve rule (CPU of auditd + kauditd, captured = EXECVE records in its log).
 * Two extra, shorter agent runs (exec loads only) measure the V8 heap setting: the agent without
 * the CLI's `--semi-space-growth-factor=1` and with `node --max-semi-space-size=2` instead.
 * Needs root. The table comes first; the last line of output is one JSON object.
 *
 * flags: --skip-variants (only the headline agent and auditd), --idle-seconds N (default 20)
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { StoredEvent } from '@palisade/storage';
import { openSqliteStorage, type SqliteStorage } from '@palisade/storage-sqlite';
import { AgentProc, captureTail, spawnNode, stopChild } from './agent-proc.js';
import { Auditd } from './auditd.js';
import { buildSpawner, spawnLoad } from './spawn-load.js';
import { waitStored } from './stored-events.js';
import { printTable, progress } from './table.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const CLI = join(ROOT, 'apps/cli/dist/main.js');
const UNFLAGGED = join(ROOT, 'bench/dist/agent-unflagged.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { values: opts } = parseArgs({
  options: {
    'skip-variants': { type: 'boolean', default: false },
    'idle-seconds': { type: 'string', default: '20' },
  },
});
const IDLE_SECONDS = Number(opts['idle-seconds']);
const CORES = cpus().length;

const isExec = (e: StoredEvent) =>
  e.event.classUid === 1007 && e.event.activityId === 1 && (e.event.process?.path ?? '').endsWith('/true');
const isFileCreate = (e: StoredEvent) => e.event.classUid === 1001 && e.event.activityId === 1;
const isNet = (e: StoredEvent) => e.event.classUid === 4001;

/** Row is one load's result for one collector. */
interface Row {
  collector: string;
  load: string;
  expected: number;
  captured: number;
  lost: number;
  /** Rate the load achieved (execs/s, files/s, connections/s). */
  rate: number;
  /** Every event the collector delivered in the window (all of the host's, not just the marker's). */
  events: number;
  cpuMs: number;
  usPerEvent: number;
  usPerExec: number | null;
  peakRssMb: number;
}

interface Server {
  child: ChildProcess;
  dataDir: string;
  client: { registrationUrl: string; caFile: string };
  key: string;
  storage: SqliteStorage;
}

async function startServer(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-bench-agent-srv-'));
  const child = spawnNode(
    [],
    CLI,
    ['server', '--data-dir', dataDir, '--registration-port', '0', '--telemetry-port', '0'],
    {
      PALISADE_LOG_LEVEL: 'warn',
    },
  );
  const tail = captureTail(child);
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited: ${tail()}`);
    try {
      const client = JSON.parse(readFileSync(join(dataDir, 'client.json'), 'utf8'));
      const key = readFileSync(join(dataDir, 'registration-key'), 'utf8').trim();
      const storage = await openSqliteStorage({ path: join(dataDir, 'palisade.db'), writerThread: false });
      return { child, dataDir, client, key, storage };
    } catch {
      await sleep(100);
    }
  }
  await stopChild(child);
  throw new Error(`the server did not start in 30 s: ${tail()}`);
}

interface Agent {
  child: ChildProcess;
  proc: AgentProc;
  stateDir: string;
}

/** AgentVariant is how the agent process is started: the CLI, or a baseline without its V8 flag. */
interface AgentVariant {
  label: string;
  nodeFlags: string[];
  script: string;
  /** Arguments before the agent's flags (`agent` for the CLI). */
  command: string[];
}

async function startAgent(server: Server, spawner: string, v: AgentVariant): Promise<Agent> {
  const stateDir = mkdtempSync(join(tmpdir(), 'palisade-bench-agent-state-'));
  const args = [...v.command, '--server', server.client.registrationUrl, '--ca', server.client.caFile];
  args.push('--state-dir', stateDir, '--tier', 'workstation', '--log-level', 'warn');
  const child = spawnNode(v.nodeFlags, v.script, args, { PALISADE_REGISTRATION_KEY: server.key });
  const tail = captureTail(child);
  const proc = new AgentProc(child.pid!);
  // Ready = an exec marked now is stored on the server (registered, sensor attached, streaming).
  const marker = `palisade-bench-ready-${Math.random().toString(36).slice(2, 10)}`;
  for (let i = 0; i < 60; i++) {
    if (child.exitCode !== null) throw new Error(`the agent exited: ${tail()}`);
    if (proc.helperPid()) {
      await spawnLoad(spawner, 0, 5, ['/bin/true', marker]);
      if ((await waitStored(server.storage, marker, isExec, 1, 1000, 2000)) > 0)
        return { child, proc, stateDir };
    } else {
      await sleep(500);
    }
  }
  await stopChild(child);
  throw new Error(`the agent did not deliver an exec within 60 s: ${tail()}`);
}

const TCP_LOAD = `
const net = require('node:net');
const n = Number(process.argv[1]);
const s = net.createServer((c) => c.on('data', () => c.end()));
s.listen(0, '127.0.0.1', async () => {
  for (let i = 0; i < n; i++) {
    await new Promise((res) => { const c = net.connect(s.address().port, '127.0.0.1', () => c.write('x')); c.on('close', res); c.on('error', res); });
  }
  s.close();
});`;

/** Load is one workload: how many marker events to expect and how to drive it. */
interface Load {
  name: string;
  expected: number;
  keep: (e: StoredEvent) => boolean;
  execs: boolean;
  drive: (marker: string) => Promise<{ rate: number }>;
}

function loads(spawner: string, scratch: string, execOnly: boolean): Load[] {
  const exec = (name: string, rate: number, count: number): Load => ({
    name,
    expected: count,
    keep: isExec,
    execs: true,
    drive: (m) => spawnLoad(spawner, rate, count, ['/bin/true', m], rate === 0 || rate > 200 ? CORES : 1),
  });
  const list = [exec('exec 100/s', 100, 600), exec('exec 1000/s', 1000, 5000), exec('exec max', 0, 4000)];
  if (execOnly) return list;
  list.push({
    name: 'file creates',
    expected: 5000,
    keep: isFileCreate,
    execs: false,
    drive: async (m) => {
      const dir = join(scratch, m);
      mkdirSync(dir);
      const t0 = performance.now();
      for (let i = 0; i < 5000; i++) writeFileSync(join(dir, `f${i}`), 'x');
      return { rate: 5000 / ((performance.now() - t0) / 1000) };
    },
  });
  list.push({
    name: 'tcp connects (x4 events)',
    expected: 2000,
    keep: isNet,
    execs: false,
    drive: (m) =>
      new Promise((res) => {
        const t0 = performance.now();
        spawn(process.execPath, ['-e', TCP_LOAD, '500', m], { stdio: 'ignore' }).on('exit', () =>
          res({ rate: 500 / ((performance.now() - t0) / 1000) }),
        );
      }),
  });
  return list;
}

/** Collector is what a load is measured against: the agent or auditd. */
interface Collector {
  name: string;
  cpu(): number;
  peakRss(): number;
  /** Marker events captured (stored on the server / written to the audit log). */
  captured(load: Load, marker: string): Promise<number>;
  /** Every event delivered so far (for µs per event). */
  total(): Promise<number>;
}

async function measure(c: Collector, load: Load): Promise<Row> {
  const marker = `palisade-bench-${Math.random().toString(36).slice(2, 10)}`;
  const e0 = await c.total();
  const cpu0 = c.cpu();
  const { rate } = await load.drive(marker);
  const captured = await c.captured(load, marker);
  const cpuMs = (c.cpu() - cpu0) * 1000;
  const events = (await c.total()) - e0;
  const row: Row = {
    collector: c.name,
    load: load.name,
    expected: load.expected,
    captured,
    lost: Math.max(0, load.expected - captured),
    rate,
    events,
    cpuMs,
    usPerEvent: events ? (cpuMs * 1000) / events : 0,
    usPerExec: load.execs ? (cpuMs * 1000) / load.expected : null,
    peakRssMb: c.peakRss(),
  };
  progress(
    `${c.name} ${load.name}: ${captured}/${load.expected} at ${rate.toFixed(0)}/s, ${events} events, ${cpuMs.toFixed(0)} ms CPU, peak ${row.peakRssMb.toFixed(1)} MB`,
  );
  return row;
}

function agentCollector(name: string, a: Agent, s: Server): Collector {
  return {
    name,
    cpu: () => {
      const c = a.proc.cpu();
      return c.node + c.helper;
    },
    peakRss: () => {
      const r = a.proc.rss();
      return r.nodePeak + r.helperPeak;
    },
    captured: (load, marker) => waitStored(s.storage, marker, load.keep, load.expected),
    total: () => s.storage.countEvents(),
  };
}

interface Idle {
  cpuPct: number;
  rssMb: number;
  nodeRssMb: number;
  helperRssMb: number;
  eventsPerSec: number;
}

async function idle(a: Agent, s: Server, seconds: number): Promise<Idle> {
  await sleep(2000);
  const c0 = a.proc.cpu();
  const e0 = await s.storage.countEvents();
  await sleep(seconds * 1000);
  const c1 = a.proc.cpu();
  const r = a.proc.rss();
  const res = {
    cpuPct: ((c1.node + c1.helper - c0.node - c0.helper) / seconds) * 100,
    rssMb: r.node + r.helper,
    nodeRssMb: r.node,
    helperRssMb: r.helper,
    eventsPerSec: ((await s.storage.countEvents()) - e0) / seconds,
  };
  progress(
    `idle ${seconds} s: ${res.cpuPct.toFixed(2)}% of a core, RSS ${res.rssMb.toFixed(1)} MB, ${res.eventsPerSec} events/s from the host`,
  );
  return res;
}

/** runAgent measures one agent process through idle and the loads, then stops it. */
async function runAgent(
  v: AgentVariant,
  s: Server,
  spawner: string,
  scratch: string,
  execOnly: boolean,
  idleSeconds: number,
): Promise<{ idle: Idle; rows: Row[]; nodePeak: number; helperPeak: number; helperRestarts: number }> {
  progress(`${v.label}: starting the agent`);
  const a = await startAgent(s, spawner, v);
  try {
    const idleRes = await idle(a, s, idleSeconds);
    const c = agentCollector(v.label, a, s);
    // Warm up: a long-running agent's JIT-compiled steady state is what the rows report.
    await spawnLoad(spawner, 0, 1000, ['/bin/true', 'palisade-bench-warmup'], CORES);
    await sleep(2000);
    const rows: Row[] = [];
    for (const load of loads(spawner, scratch, execOnly)) rows.push(await measure(c, load));
    const r = a.proc.rss();
    return {
      idle: idleRes,
      rows,
      nodePeak: r.nodePeak,
      helperPeak: r.helperPeak,
      helperRestarts: a.proc.helperRestarts,
    };
  } finally {
    await stopChild(a.child);
    rmSync(a.stateDir, { recursive: true, force: true });
  }
}

async function runAuditd(spawner: string, scratch: string): Promise<Row[] | null> {
  if (!Auditd.available()) return null;
  const dir = join(scratch, 'auditd');
  mkdirSync(dir);
  const d = new Auditd(dir);
  await d.start();
  try {
    const c: Collector = {
      name: 'auditd',
      cpu: () => d.cpu(),
      peakRss: () => d.peakRssMb(),
      captured: async (load, marker) => {
        // auditd writes asynchronously: wait until the count stops moving (or is complete).
        let last = -1;
        for (let i = 0; i < 30; i++) {
          await sleep(500);
          const n = d.countExecs(marker);
          if (n >= load.expected || (n === last && i >= 3)) return n;
          last = n;
        }
        return last;
      },
      // auditd's events: EXECVE records of any process, the rule's whole output.
      total: async () => 0,
    };
    const rows: Row[] = [];
    for (const load of loads(spawner, '', true)) rows.push(await measure(c, load));
    return rows;
  } finally {
    await d.stop();
  }
}

function machine(): string {
  const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return `${model}, ${CORES} cores, kernel ${release()}, load average ${load} at start`;
}

type AgentRun = Awaited<ReturnType<typeof runAgent>>;

/** The headline agent: `palisade agent` exactly as a user runs it. */
const CLI_AGENT: AgentVariant = { label: 'agent', nodeFlags: [], script: CLI, command: ['agent'] };
/** Extra runs on the V8 heap: the agent without the CLI's flag, and with the command-line flag. */
const VARIANTS: AgentVariant[] = [
  { label: 'agent, no V8 flag', nodeFlags: [], script: UNFLAGGED, command: [] },
  {
    label: 'agent, node --max-semi-space-size=2',
    nodeFlags: ['--max-semi-space-size=2'],
    script: UNFLAGGED,
    command: [],
  },
];

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:agent needs root (the agent loads eBPF programs)');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const scratch = mkdtempSync(join(tmpdir(), 'palisade-bench-agent-'));
  const host = machine();
  progress(host);
  const spawner = buildSpawner(scratch);
  const server = await startServer();
  let base: AgentRun;
  const variants: { v: AgentVariant; run: AgentRun }[] = [];
  let audit: Row[] | null;
  try {
    base = await runAgent(CLI_AGENT, server, spawner, scratch, false, IDLE_SECONDS);
    if (!opts['skip-variants'])
      for (const v of VARIANTS)
        variants.push({ v, run: await runAgent(v, server, spawner, scratch, true, 10) });
    audit = await runAuditd(spawner, scratch);
  } finally {
    await server.storage.close();
    await stopChild(server.child);
    rmSync(server.dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
  const rows = [...base.rows, ...variants.flatMap((x) => x.run.rows), ...(audit ?? [])];
  process.stdout.write(`\nmachine: ${host}\n`);
  printTable(
    'Endpoint overhead: real agent (workstation tier, events counted when stored on the server) vs auditd',
    [
      'collector',
      'load',
      'rate/s',
      'expected',
      'captured',
      'lost',
      'events',
      'cpu ms',
      'µs/event',
      'µs/exec',
      'peak RSS MB',
    ],
    rows.map((x) => [
      x.collector,
      x.load,
      x.rate.toFixed(0),
      x.expected,
      x.captured,
      x.lost,
      x.collector === 'auditd' ? '-' : x.events,
      x.cpuMs.toFixed(0),
      x.collector === 'auditd' ? '-' : x.usPerEvent.toFixed(1),
      x.usPerExec === null ? '-' : x.usPerExec.toFixed(1),
      x.peakRssMb.toFixed(1),
    ]),
  );
  const idleRow = (label: string, i: Idle) => [
    label,
    i.cpuPct.toFixed(2),
    i.rssMb.toFixed(1),
    i.nodeRssMb.toFixed(1),
    i.helperRssMb.toFixed(1),
    i.eventsPerSec.toFixed(1),
  ];
  printTable(
    'Idle (no load from the bench; the host still makes some events), RSS at the end',
    ['agent', 'CPU % of a core', 'RSS MB', 'node MB', 'helper MB', 'host events/s'],
    [
      idleRow(`agent (${IDLE_SECONDS} s)`, base.idle),
      ...variants.map((x) => idleRow(`${x.v.label} (10 s)`, x.run.idle)),
    ],
  );
  const find = (rs: Row[] | null | undefined, load: string) => rs?.find((r) => r.load === load);
  const a1000 = find(base.rows, 'exec 1000/s')!;
  const d1000 = find(audit, 'exec 1000/s');
  const ratio = d1000?.usPerExec ? a1000.usPerExec! / d1000.usPerExec : null;
  process.stdout.write(
    `\nexec 1000/s: agent ${a1000.usPerExec!.toFixed(1)} µs CPU/exec, auditd ${d1000?.usPerExec?.toFixed(1) ?? 'n/a'} µs CPU/exec (ratio ${ratio?.toFixed(2) ?? 'n/a'})\n`,
  );
  const peakOf = (rs: Row[]) => Number(Math.max(...rs.map((r) => r.peakRssMb)).toFixed(1));
  const execPeak = (rs: Row[]) => peakOf(rs.filter((r) => r.usPerExec !== null));
  const headline = {
    bench: 'agent-overhead',
    machine: host,
    execRate1000Achieved: Number(a1000.rate.toFixed(0)),
    execLost1000: a1000.lost,
    execMaxRate: Number((find(base.rows, 'exec max')?.rate ?? 0).toFixed(0)),
    execLostMax: find(base.rows, 'exec max')?.lost ?? null,
    lostAllLoads: base.rows.reduce((n, r) => n + r.lost, 0),
    agentUsPerExec1000: Number(a1000.usPerExec!.toFixed(1)),
    auditdUsPerExec1000: d1000?.usPerExec != null ? Number(d1000.usPerExec.toFixed(1)) : null,
    ratioAgentToAuditd: ratio === null ? null : Number(ratio.toFixed(2)),
    auditdLost1000: d1000?.lost ?? null,
    idleCpuPct: Number(base.idle.cpuPct.toFixed(2)),
    idleRssMb: Number(base.idle.rssMb.toFixed(1)),
    peakRssMb: peakOf(base.rows),
    execPeakRssMb: execPeak(base.rows),
    variants: Object.fromEntries(
      variants.map((x) => [
        x.v.label,
        { idleRssMb: Number(x.run.idle.rssMb.toFixed(1)), execPeakRssMb: execPeak(x.run.rows) },
      ]),
    ),
    helperRestarts: base.helperRestarts,
  };
  process.stdout.write(`${JSON.stringify(headline)}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:agent failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
