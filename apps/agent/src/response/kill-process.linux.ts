import { readFileSync, readlinkSync } from 'node:fs';
import { type Process, ProcessSchema, create } from '@palisade/protocol';
import { MS_PER_TICK, processUniqueId } from '../process-identity.js';
import { PF_KTHREAD, type Stat, allStats, bootWallMs, descendants, readStat } from './proc-tree.linux.js';

/** KillRequest names the process to end: pid and start time (and/or its unique id). */
export interface KillRequest {
  pid: number;
  /** process.created_time of its events, ms since the epoch (0: not given). */
  startTimeMs: number;
  /** process.uid of its events ("": not given). */
  processUid: string;
  /** Also end every descendant. */
  tree: boolean;
}

/** KillOutcome is how a kill ended. */
export interface KillOutcome {
  ok: boolean;
  /** "" on success; else not_found, start_time_mismatch, protected, bad_request, still_running, error. */
  code: string;
  message: string;
  /** The process as /proc showed it before the kill. */
  process?: Process;
  killedPids: number[];
}

/** KillContext is what the kill needs to know about the host and the agent. */
export interface KillContext {
  bootId: string;
  /** Pids that must never be killed besides pid 1, the agent and its descendants (its helpers). */
  protectedPids?: () => Iterable<number>;
  /** Largest accepted difference between the given and the actual start time. @default 100 */
  toleranceMs?: number;
  procRoot?: string;
}

/** protectedSet is pid 1, the agent, everything the agent started (its helpers) and the extra pids. */
function protectedSet(ctx: KillContext, stats: readonly Stat[]): Set<number> {
  return new Set([1, process.pid, ...descendants(process.pid, stats), ...(ctx.protectedPids?.() ?? [])]);
}

function describeProcess(st: Stat, ctx: KillContext, root: string, boot: number): Process {
  let exe = '';
  let cmd: string[] = [];
  let uid = '';
  try {
    exe = readlinkSync(`${root}/${st.pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {}
  try {
    const raw = readFileSync(`${root}/${st.pid}/cmdline`).toString('utf8');
    cmd = raw
      .replace(/\0$/, '')
      .split('\0')
      .filter((a, i) => a !== '' || i > 0);
  } catch {}
  try {
    uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`${root}/${st.pid}/status`, 'latin1'))?.[1] ?? '';
  } catch {}
  return create(ProcessSchema, {
    pid: st.pid,
    ppid: st.ppid,
    uid: processUniqueId(ctx.bootId, st.pid, st.startTicks),
    name: exe ? exe.slice(exe.lastIndexOf('/') + 1) : st.comm,
    path: exe,
    argv: cmd,
    cmdLine: cmd.join(' '),
    createdTimeMs: BigInt(Math.round(boot + st.startTicks * MS_PER_TICK)),
    ...(uid ? { user: { uid } } : {}),
  });
}

function signal(pid: number, sig: NodeJS.Signals): string | undefined {
  try {
    process.kill(pid, sig);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

function dead(pid: number, startTicks: number, root: string): boolean {
  const s = readStat(pid, root);
  return !s || s.startTicks !== startTicks || s.state === 'Z' || s.state === 'X';
}

/**
 * killProcess ends the process named by pid and start time (and/or its unique id), so a pid that
 * was reused by another process is never killed: the start time from /proc/<pid>/stat must be
 * within `toleranceMs` of the given one (both are derived from the same boot clock; the tolerance
 * absorbs clock slew between the event and the kill) and a given unique id must match exactly.
 * pid 1, the agent, its helpers, kernel threads and `protectedPids` are refused, also inside a
 * tree. With `tree`, the process and all its descendants are stopped first (so none can fork
 * away) and then killed. Waits up to 3 s for them to die.
 */
export async function killProcess(req: KillRequest, ctx: KillContext): Promise<KillOutcome> {
  const root = ctx.procRoot ?? '/proc';
  const fail = (code: string, message: string, p?: Process): KillOutcome => ({
    ok: false,
    code,
    message,
    ...(p ? { process: p } : {}),
    killedPids: [],
  });
  if (!Number.isInteger(req.pid) || req.pid < 1 || req.pid > 4_194_304)
    return fail('bad_request', `pid ${req.pid} is not a valid process id`);
  if (req.pid === 1) return fail('protected', 'pid 1 (init) is never killed');
  if (!req.startTimeMs && !req.processUid)
    return fail(
      'bad_request',
      'the process start time (or its unique id) is required, so a reused pid is never killed',
    );
  const st = readStat(req.pid, root);
  if (!st) return fail('not_found', `no process ${req.pid} is running`);
  if (st.state === 'Z' || st.state === 'X') return fail('not_found', `process ${req.pid} has already exited`);
  const boot = bootWallMs(root);
  const proc = describeProcess(st, ctx, root, boot);
  const started = Number(proc.createdTimeMs);
  if (req.processUid && req.processUid !== proc.uid) {
    return fail(
      'start_time_mismatch',
      `process ${req.pid} is not the one named (unique id ${proc.uid}, asked for ${req.processUid}): the pid was reused; nothing killed`,
      proc,
    );
  }
  const tolerance = ctx.toleranceMs ?? 100;
  if (req.startTimeMs && Math.abs(started - req.startTimeMs) > tolerance) {
    return fail(
      'start_time_mismatch',
      `process ${req.pid} started at ${new Date(started).toISOString()}, not ${new Date(req.startTimeMs).toISOString()}: the pid was reused; nothing killed`,
      proc,
    );
  }
  if ((st.flags & PF_KTHREAD) !== 0)
    return fail('protected', `process ${req.pid} (${st.comm}) is a kernel thread`, proc);
  const stats = allStats(root);
  const guard = protectedSet(ctx, stats);
  if (guard.has(req.pid)) {
    return fail(
      'protected',
      `process ${req.pid} (${st.comm}) is the Palisade agent or one of its helpers; refused`,
      proc,
    );
  }
  const victims = [req.pid];
  if (req.tree) {
    // Stop the top first, then whatever is below it, again until the tree holds still.
    const err = signal(req.pid, 'SIGSTOP');
    if (err)
      return fail(err === 'ESRCH' ? 'not_found' : 'error', `cannot stop process ${req.pid}: ${err}`, proc);
    for (let round = 0; round < 5; round++) {
      const below = descendants(req.pid, allStats(root)).filter((p) => !victims.includes(p));
      if (below.length === 0) break;
      const bad = below.find((p) => guard.has(p));
      if (bad !== undefined) {
        for (const p of victims) signal(p, 'SIGCONT');
        return fail(
          'protected',
          `process ${bad} below ${req.pid} is protected (pid 1, the agent or its helpers); nothing killed`,
          proc,
        );
      }
      for (const p of below) signal(p, 'SIGSTOP');
      victims.push(...below);
    }
  }
  // The root is checked once more right before the kill: still the same process.
  const again = readStat(req.pid, root);
  if (!again || again.startTicks !== st.startTicks)
    return fail('not_found', `process ${req.pid} exited before it could be killed`, proc);
  const ticks = new Map<number, number>();
  for (const p of victims) ticks.set(p, readStat(p, root)?.startTicks ?? -1);
  const killed: number[] = [];
  for (const p of [...victims].reverse()) {
    const err = signal(p, 'SIGKILL');
    if (!err) killed.push(p);
    else if (p === req.pid && err !== 'ESRCH') return fail('error', `cannot kill process ${p}: ${err}`, proc);
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && !killed.every((p) => dead(p, ticks.get(p) ?? -1, root))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const alive = killed.filter((p) => !dead(p, ticks.get(p) ?? -1, root));
  if (alive.length) {
    return {
      ok: false,
      code: 'still_running',
      message: `sent SIGKILL but ${alive.join(', ')} still run after 3 s`,
      process: proc,
      killedPids: killed,
    };
  }
  return {
    ok: true,
    code: '',
    message: `killed process ${req.pid} (${proc.name})${killed.length > 1 ? ` and ${killed.length - 1} descendant(s)` : ''}`,
    process: proc,
    killedPids: killed.sort((a, b) => a - b),
  };
}
