import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpuSeconds, rssMb } from './proc-stats.js';

/** ProcOutput keeps the tail of a child's stdout+stderr for error messages. */
export function captureTail(child: ChildProcess): () => string {
  let tail = '';
  const add = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => tail;
}

/** childrenOf lists the pids whose parent is `pid`, with their command names. */
export function childrenOf(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(d), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // The process exited while we looked.
    }
  }
  return out;
}

/**
 * AgentProc measures a running `palisade agent`: its Node process plus its helper
 * `palisade-sensor` (found as the agent's child each time, since the agent restarts a crashed
 * helper). CPU is user+system from /proc/<pid>/stat; a helper that was replaced loses the CPU
 * of the one before it, which is why `helperRestarts` is tracked.
 */
export class AgentProc {
  private lastHelper = 0;
  helperRestarts = 0;

  constructor(readonly pid: number) {}

  /** helperPid returns the helper's pid, or 0 when it is not running. */
  helperPid(): number {
    const h = childrenOf(this.pid).find((c) => c.comm === 'palisade-sensor')?.pid ?? 0;
    if (h && this.lastHelper && h !== this.lastHelper) this.helperRestarts++;
    if (h) this.lastHelper = h;
    return h;
  }

  /** cpu is the agent's and its helper's CPU seconds so far. */
  cpu(): { node: number; helper: number } {
    const h = this.helperPid();
    return { node: cpuSeconds(this.pid), helper: h ? cpuSeconds(h) : 0 };
  }

  /** rss is current and peak (VmHWM) resident memory, MiB, of the Node process and the helper. */
  rss(): { node: number; nodePeak: number; helper: number; helperPeak: number } {
    const n = rssMb(this.pid);
    const h = this.helperPid();
    const hr = h ? rssMb(h) : { rss: 0, peak: 0 };
    return { node: n.rss, nodePeak: n.peak, helper: hr.rss, helperPeak: hr.peak };
  }
}

/** stopChild sends SIGTERM and waits (SIGKILL after 10 s). */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** spawnExecutable starts `file` (a launcher that execs node: the pid stays the agent's). */
export function spawnExecutable(file: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** spawnNode starts `node [flags] script args` with piped output. */
export function spawnNode(
  flags: string[],
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess {
  return spawn(process.execPath, [...flags, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
