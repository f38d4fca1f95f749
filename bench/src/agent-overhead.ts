/**
 * agent-overhead (npm run bench:agent): endpoint overhead of the REAL agent, side by side with
 * auditd. A `palisade server` process (ephemeral loopback ports, temp data dir) and a
 * `palisade-agent --tier workstation` process (the agent's launcher) registered to it; loads are driven on this host
 * and each event counted as captured only once it is stored on the server (searched by a marker
 * in argv or path). CPU per event is the agent's Node process plus its helper `palisade-sensor`
 * (from /proc/<pid>/stat), peak RSS is VmHWM of both. The same exec loads are then run against
 * auditd with an execve rule (CPU of auditd + kauditd, captured = EXECVE records in its log).
 * Two extra, shorter agent runs (exec loads only) measure the process settings: `palisade agent`
 * without the launcher's environment, and the agent without the CLI's V8 flags either.
 * Needs root. The table comes first; the last line of output is one JSON object.
 *
 * flags: --skip-variants (only the headline agent and auditd), --idle-seconds N (default 20)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stopChild } from './agent-proc.js';
import { AGENT_LAUNCHER, type AgentVariant, CLI, type Idle, runAgent, startServer } from './agent-run.js';
import { Auditd } from './auditd.js';
import { loads, TINY_LOAD } from './overhead-loads.js';
import { type Collector, measure, type Row } from './overhead-measure.js';
import { buildSpawner } from './spawn-load.js';
import { printTable, progress } from './table.js';
import { sleep } from '@palisade/testkit';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const UNFLAGGED = join(ROOT, 'bench/dist/agent-unflagged.js');

const { values: opts } = parseArgs({
  options: {
    'skip-variants': { type: 'boolean', default: false },
    'idle-seconds': { type: 'string', default: '20' },
  },
});
const IDLE_SECONDS = Number(opts['idle-seconds']);
const CORES = cpus().length;

async function runAuditd(spawner: string, scratch: string): Promise<Row[] | null> {
  if (!Auditd.available()) return null;
  const dir = join(scratch, 'auditd');
  mkdirSync(dir);
  const d = new Auditd(dir);
  try {
    await d.start();
  } catch (err) {
    await d.stop().catch(() => {});
    progress(`auditd not measured: ${(err as Error).message}`);
    return null;
  }
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
          const n = d.countExecs(marker, load.program);
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

/** The headline agent: `palisade-agent` exactly as a user runs it. */
const CLI_AGENT: AgentVariant = {
  label: 'agent',
  nodeFlags: [],
  script: CLI,
  command: [],
  launcher: AGENT_LAUNCHER,
};
/** Extra runs: without the launcher's environment, and without the CLI's V8 flags either. */
const VARIANTS: AgentVariant[] = [
  { label: 'palisade agent, no launcher', nodeFlags: [], script: CLI, command: ['agent'] },
  { label: 'agent, no launcher, no V8 flags', nodeFlags: [], script: UNFLAGGED, command: [] },
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
  if (a1000.rate < 900)
    process.stdout.write(
      `\nnote: this machine could not exec /bin/true at 1000/s: the paced load reached ${a1000.rate.toFixed(0)}/s (max load: ${(find(base.rows, 'exec max')?.rate ?? 0).toFixed(0)}/s), so "exec 1000/s" was measured at that rate\n`,
    );
  process.stdout.write(
    `\nexec 1000/s: agent ${a1000.usPerExec!.toFixed(1)} µs CPU/exec, auditd ${d1000?.usPerExec?.toFixed(1) ?? 'n/a'} µs CPU/exec (ratio ${ratio?.toFixed(2) ?? 'n/a'})\n`,
  );
  const peakOf = (rs: Row[]) => Number(Math.max(...rs.map((r) => r.peakRssMb)).toFixed(1));
  const execPeak = (rs: Row[]) => peakOf(rs.filter((r) => r.usPerExec !== null));
  const t1000 = find(base.rows, TINY_LOAD)!;
  const dt1000 = find(audit, TINY_LOAD);
  const tinyRatio = dt1000?.usPerExec ? t1000.usPerExec! / dt1000.usPerExec : null;
  process.stdout.write(
    `${TINY_LOAD}: reached ${t1000.rate.toFixed(0)}/s, ${t1000.lost} lost; agent ${t1000.usPerExec!.toFixed(1)} µs CPU/exec, auditd ${dt1000?.usPerExec?.toFixed(1) ?? 'n/a'} (ratio ${tinyRatio?.toFixed(2) ?? 'n/a'})\n`,
  );
  const headline = {
    bench: 'agent-overhead',
    machine: host,
    execRate1000Achieved: Number(a1000.rate.toFixed(0)),
    execLost1000: a1000.lost,
    tinyExecRate1000Achieved: Number(t1000.rate.toFixed(0)),
    tinyExecLost1000: t1000.lost,
    tinyRatioAgentToAuditd: tinyRatio === null ? null : Number(tinyRatio.toFixed(2)),
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

// Ctrl-C: exit through process.exit so that the 'exit' hooks (auditd rule removal) run; the
// agent and server children get the terminal's SIGINT themselves.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

main().catch((err) => {
  process.stderr.write(`bench:agent failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
