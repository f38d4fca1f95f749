import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStorage, type SqliteStorage } from '@palisade/storage-sqlite';
import { AgentProc, captureTail, spawnExecutable, spawnNode, stopChild } from './agent-proc.js';
import { isExec, loads } from './overhead-loads.js';
import { type Collector, measure, type Row } from './overhead-measure.js';
import { startServerProcess } from './server-proc.js';
import { spawnLoad } from './spawn-load.js';
import { waitStored } from './stored-events.js';
import { progress } from './table.js';
import { sleep } from '@palisade/testkit';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export { CLI } from './server-proc.js';
/** The agent's launcher, as installed in the npm bin directory (`palisade-agent`). */
export const AGENT_LAUNCHER = join(ROOT, 'apps/cli/bin/palisade-agent');
const CORES = cpus().length;

/** Server is a running `palisade server` process and a read-only view of its store. */
export interface Server {
  child: ChildProcess;
  dataDir: string;
  client: { registrationUrl: string; caFile: string };
  key: string;
  storage: SqliteStorage;
}

/** startServer starts `palisade server` on ephemeral loopback ports with a temp data dir. */
export async function startServer(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-bench-agent-srv-'));
  const { child, client, key } = await startServerProcess(dataDir);
  const storage = await openSqliteStorage({ path: join(dataDir, 'palisade.db'), writerThread: false });
  return { child, dataDir, client, key, storage };
}

/** Agent is a running agent process with its temp state dir. */
export interface Agent {
  child: ChildProcess;
  proc: AgentProc;
  stateDir: string;
}

/** AgentVariant is how the agent process is started: the CLI, or a baseline without its V8 flag. */
export interface AgentVariant {
  label: string;
  nodeFlags: string[];
  script: string;
  /** Arguments before the agent's flags (`agent` for the CLI). */
  command: string[];
  /** An executable that starts the agent itself (the `palisade-agent` launcher) instead of node. */
  launcher?: string;
}

/** startAgent starts and registers an agent (workstation tier) and waits until its events are stored. */
export async function startAgent(server: Server, spawner: string, v: AgentVariant): Promise<Agent> {
  const stateDir = mkdtempSync(join(tmpdir(), 'palisade-bench-agent-state-'));
  const args = [...v.command, '--server', server.client.registrationUrl, '--ca', server.client.caFile];
  args.push('--state-dir', stateDir, '--tier', 'workstation', '--log-level', 'warn');
  const env = { PALISADE_REGISTRATION_KEY: server.key };
  const child = v.launcher
    ? spawnExecutable(v.launcher, args, { ...env, PALISADE_NODE: process.execPath })
    : spawnNode(v.nodeFlags, v.script, args, env);
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

/** agentCollector measures an agent: its CPU and RSS (Node + helper), captured = stored on the server. */
export function agentCollector(name: string, a: Agent, s: Server): Collector {
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

/** Idle is the agent at rest: CPU % of one core and RSS at the end. */
export interface Idle {
  cpuPct: number;
  rssMb: number;
  nodeRssMb: number;
  helperRssMb: number;
  eventsPerSec: number;
}

/** The agent's start-up (lazy compilation, its first GC cycles, the first check-in) is not idle. */
const IDLE_SETTLE_MS = 10_000;

/** idle measures the agent for `seconds` with no load from the bench, after it has settled. */
export async function idle(a: Agent, s: Server, seconds: number): Promise<Idle> {
  await sleep(IDLE_SETTLE_MS);
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
export async function runAgent(
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
