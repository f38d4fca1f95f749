/**
 * agent-overhead (npm run bench:agent): endpoint overhead of the eBPF sensor, side by side with
 * auditd. The sensor runs alone in its own process (apps/agent/dist/sensors/bpf/overhead-runner.js,
 * the agent's sensor code with a counting sink), so its CPU (Node + helper, from /proc/<pid>/stat)
 * and peak RSS are measured without the spool or transport. Loads: /bin/true at 100/s, 1000/s
 * and as fast as a shell loop can go; a storm of file creates; a storm of TCP connections; idle.
 * Then the same exec loads with auditd and an execve rule. Needs root. Last line: one JSON object.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { cpuSeconds, rssMb } from './proc-stats.js';
import { printTable, progress } from './table.js';

const root = new URL('../../', import.meta.url).pathname;
const RUNNER = join(root, 'apps/agent/dist/sensors/bpf/overhead-runner.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Report {
  total: number;
  matched: Record<string, number>;
  ringDrops: Record<string, number>;
}

class Runner {
  private readonly child: ChildProcess;
  private readonly lines: Interface;
  private readonly queue: Array<(l: string) => void> = [];
  pid = 0;
  helperPid = 0;

  constructor() {
    this.child = spawn(process.execPath, [RUNNER], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout! });
    this.lines.on('line', (l) => this.queue.shift()?.(l));
  }

  private next(): Promise<string> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('sensor runner did not answer')), 30_000);
      this.queue.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  }

  async ready(): Promise<void> {
    const hello = JSON.parse(await this.next()) as { ready: boolean; pid: number; helperPid: number };
    if (!hello.ready) throw new Error(`the eBPF sensor did not start: ${JSON.stringify(hello)}`);
    this.pid = hello.pid;
    this.helperPid = hello.helperPid;
  }

  match(text: string): void {
    this.child.stdin!.write(`match ${text}\n`);
  }

  async report(): Promise<Report> {
    this.child.stdin!.write('report\n');
    return JSON.parse(await this.next()) as Report;
  }

  cpu(): number {
    return cpuSeconds(this.pid) + cpuSeconds(this.helperPid);
  }

  peakRss(): number {
    return rssMb(this.pid).peak + rssMb(this.helperPid).peak;
  }

  async quit(): Promise<void> {
    this.child.stdin!.end('quit\n');
    await new Promise((r) => this.child.once('exit', r));
  }
}

/** execLoad runs `count` execs of /bin/true MARKER, paced at `rate`/s (0: as fast as possible). */
async function execLoad(marker: string, count: number, rate: number): Promise<number> {
  const env = { PATH: '/usr/bin:/bin', M: marker };
  const loop = (n: number) =>
    new Promise<void>((resolve) => {
      spawn('/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do /bin/true "$M"; i=$((i+1)); done`], {
        env,
        stdio: 'ignore',
      }).on('exit', () => resolve());
    });
  const t0 = Date.now();
  if (rate === 0) {
    await loop(count);
  } else {
    const perTick = Math.max(1, Math.round(rate / 10));
    const pending: Promise<void>[] = [];
    for (let done = 0, tick = 0; done < count; tick++) {
      const n = Math.min(perTick, count - done);
      done += n;
      pending.push(loop(n));
      const wait = t0 + (tick + 1) * 100 - Date.now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(pending);
  }
  return (Date.now() - t0) / 1000;
}

const FILE_LOAD = (dir: string, n: number) =>
  `cd "${dir}" && i=0; while [ $i -lt ${n} ]; do echo x > "f$i"; i=$((i+1)); done`;

const TCP_LOAD = `
const net = require('node:net');
const n = Number(process.argv[1]);
const s = net.createServer((c) => c.on('data', () => c.end()));
s.listen(0, '127.0.0.1', async () => {
  for (let i = 0; i < n; i++) {
    await new Promise((res) => { const c = net.connect(s.address().port, '127.0.0.1', () => c.write('x')); c.on('close', res); });
  }
  s.close();
});`;

interface Row {
  load: string;
  expected: number;
  captured: number;
  lost: number;
  seconds: number;
  cpuMs: number;
  usPerEvent: number;
  peakRssMb: number;
}

async function measure(
  r: Runner,
  load: string,
  expectKey: string[],
  expected: number,
  drive: (marker: string) => Promise<unknown>,
): Promise<Row & { events: number }> {
  const marker = `palisade-bench-${Math.random().toString(36).slice(2, 10)}`;
  r.match(marker);
  const before = await r.report();
  const cpu0 = r.cpu();
  const t0 = Date.now();
  await drive(marker);
  await sleep(1500); // let the sensor drain what is in flight
  const after = await r.report();
  const cpuMs = (r.cpu() - cpu0) * 1000;
  const captured = expectKey.reduce((a, k) => a + (after.matched[k] ?? 0), 0);
  const events = after.total - before.total;
  progress(`${load}: captured ${captured}/${expected}, ${events} events, ${cpuMs.toFixed(0)} ms CPU`);
  return {
    load,
    expected,
    captured,
    lost: Math.max(0, expected - captured),
    seconds: (Date.now() - t0 - 1500) / 1000,
    cpuMs,
    usPerEvent: events ? (cpuMs * 1000) / events : 0,
    peakRssMb: r.peakRss(),
    events,
  };
}

function kauditdPid(): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'kauditd') return Number(d);
    } catch {}
  }
  return 0;
}

/** auditdLoad measures auditd (+ kauditd) CPU per exec under an execve rule. */
async function auditdLoad(count: number, rate: number): Promise<{ cpuMs: number; usPerExec: number } | null> {
  if (!existsSync('/usr/sbin/auditd') || !existsSync('/usr/sbin/auditctl')) return null;
  const pidof = () =>
    Number(spawnSync('pidof', ['auditd'], { encoding: 'utf8' }).stdout.trim().split(' ')[0] || 0);
  let started = false;
  let pid = pidof();
  if (!pid) {
    execFileSync('/usr/sbin/auditd', [], { stdio: 'ignore' });
    started = true;
    for (let i = 0; i < 50 && !pid; i++) {
      await sleep(100);
      pid = pidof();
    }
  }
  const rule = ['-F', 'arch=b64', '-S', 'execve', '-F', 'key=palisade-bench'];
  execFileSync('/usr/sbin/auditctl', ['-a', 'always,exit', ...rule], { stdio: 'ignore' });
  try {
    const k = kauditdPid();
    const cpu = () => cpuSeconds(pid) + (k ? cpuSeconds(k) : 0);
    const c0 = cpu();
    await execLoad('audit', count, rate);
    await sleep(1500);
    const cpuMs = (cpu() - c0) * 1000;
    return { cpuMs, usPerExec: (cpuMs * 1000) / count };
  } finally {
    execFileSync('/usr/sbin/auditctl', ['-d', 'always,exit', ...rule], { stdio: 'ignore' });
    if (started) process.kill(pid, 'SIGTERM');
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:agent needs root (it loads eBPF programs)');
  if (!existsSync(RUNNER)) throw new Error(`${RUNNER} is missing: run npm run build first`);
  const r = new Runner();
  await r.ready();
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-agent-'));
  const rows: Row[] = [];
  let idle = { cpuPct: 0, rssMb: 0, eventsPerSec: 0 };
  try {
    await sleep(2000);
    const i0 = r.cpu();
    const e0 = (await r.report()).total;
    await sleep(10_000);
    // "Idle" is no load from this benchmark: whatever else runs on the host still makes events.
    const idleEvents = ((await r.report()).total - e0) / 10;
    idle = {
      cpuPct: ((r.cpu() - i0) / 10) * 100,
      rssMb: rssMb(r.pid).rss + rssMb(r.helperPid).rss,
      eventsPerSec: idleEvents,
    };
    progress(
      `idle: ${idle.cpuPct.toFixed(2)}% of a core, ${idle.rssMb.toFixed(1)} MB, ${idleEvents} events/s`,
    );
    // Warm up first: a long-running agent's JIT-compiled steady state is what the rows report.
    await measure(r, 'warm-up', ['1007/1'], 1000, (m) => execLoad(m, 1000, 0));
    const exec = ['1007/1'];
    rows.push(await measure(r, 'exec 100/s', exec, 500, (m) => execLoad(m, 500, 100)));
    rows.push(await measure(r, 'exec 1000/s', exec, 3000, (m) => execLoad(m, 3000, 1000)));
    rows.push(await measure(r, 'exec max', exec, 3000, (m) => execLoad(m, 3000, 0)));
    rows.push(
      await measure(r, 'file creates', ['1001/1'], 5000, (m) => {
        const d = join(dir, m);
        execFileSync('mkdir', [d]);
        return new Promise((res) => spawn('/bin/sh', ['-c', FILE_LOAD(d, 5000)]).on('exit', res));
      }),
    );
    rows.push(
      await measure(
        r,
        'tcp connections (x4 events)',
        ['4001/1', '4001/2'],
        2000,
        (m) => new Promise((res) => spawn(process.execPath, ['-e', TCP_LOAD, '500', m]).on('exit', res)),
      ),
    );
  } finally {
    await r.quit();
    rmSync(dir, { recursive: true, force: true });
  }
  const sensorExecRow = rows[1]!;
  const sensorPerExec = (sensorExecRow.cpuMs * 1000) / sensorExecRow.expected;
  const audit = await auditdLoad(3000, 1000);

  printTable(
    'eBPF sensor (Node + helper) — CPU and memory per load',
    ['load', 'expected', 'captured', 'lost', 'seconds', 'cpu ms', 'µs/event', 'peak RSS MB'],
    rows.map((x) => [
      x.load,
      x.expected,
      x.captured,
      x.lost,
      x.seconds.toFixed(1),
      x.cpuMs.toFixed(0),
      x.usPerEvent.toFixed(1),
      x.peakRssMb.toFixed(1),
    ]),
  );
  printTable(
    'exec 1000/s: CPU per exec, sensor vs auditd (execve rule)',
    ['collector', 'µs CPU / exec'],
    [
      ['palisade eBPF sensor', sensorPerExec.toFixed(1)],
      ['auditd + kauditd', audit ? audit.usPerExec.toFixed(1) : 'n/a (auditd not installed)'],
    ],
  );
  process.stdout.write(
    `\nidle: ${idle.cpuPct.toFixed(2)}% of a core, RSS ${idle.rssMb.toFixed(1)} MB (host background: ${idle.eventsPerSec} events/s)\n`,
  );
  const headline = {
    bench: 'agent-overhead',
    execLost1000: sensorExecRow.lost,
    sensorUsPerExec: Number(sensorPerExec.toFixed(1)),
    auditdUsPerExec: audit ? Number(audit.usPerExec.toFixed(1)) : null,
    ratioSensorToAuditd: audit ? Number((sensorPerExec / audit.usPerExec).toFixed(2)) : null,
    idleCpuPct: Number(idle.cpuPct.toFixed(2)),
    idleRssMb: Number(idle.rssMb.toFixed(1)),
    idleEventsPerSec: idle.eventsPerSec,
    peakRssMb: Number(Math.max(...rows.map((x) => x.peakRssMb)).toFixed(1)),
    rows,
  };
  process.stdout.write(`${JSON.stringify(headline)}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:agent failed: ${(err as Error).message}\n`);
  process.exit(1);
});
