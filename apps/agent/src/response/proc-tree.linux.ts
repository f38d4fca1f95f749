import { readFileSync, readdirSync } from 'node:fs';

/** Stat is what /proc/<pid>/stat says about a process. */
export interface Stat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  flags: number;
  startTicks: number;
}

/** PF_KTHREAD marks kernel threads in the flags of /proc/<pid>/stat. */
export const PF_KTHREAD = 0x00200000;

/** readStat reads /proc/<pid>/stat; undefined when the process is gone. */
export function readStat(pid: number, root: string): Stat | undefined {
  try {
    const s = readFileSync(`${root}/${pid}/stat`, 'latin1');
    // comm may hold spaces and parentheses: it runs to the last ')'.
    const close = s.lastIndexOf(')');
    const rest = s.slice(close + 2).split(' ');
    return {
      pid,
      comm: s.slice(s.indexOf('(') + 1, close),
      state: rest[0] ?? '',
      ppid: Number(rest[1]),
      flags: Number(rest[6]),
      startTicks: Number(rest[19]),
    };
  } catch {
    return undefined;
  }
}

/** bootWallMs is the wall-clock time of boot, ms (now minus /proc/uptime). */
export function bootWallMs(root: string): number {
  const up = Number(readFileSync(`${root}/uptime`, 'utf8').split(' ')[0]);
  return Date.now() - up * 1000;
}

/** allStats reads every process of /proc once. */
export function allStats(root: string): Stat[] {
  const out: Stat[] = [];
  for (const d of readdirSync(root)) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(Number(d), root);
    if (s) out.push(s);
  }
  return out;
}

/** descendants returns the pids below `pid` (children, grandchildren, ...), from one /proc scan. */
export function descendants(pid: number, stats: readonly Stat[]): number[] {
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length) {
    const p = queue.shift()!;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** descendantPids lists the processes below `pid` now (the agent's helpers, for the agent). */
export function descendantPids(pid: number, root = '/proc'): number[] {
  return descendants(pid, allStats(root));
}
