import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** ProcSnapshot is what /proc says about a live process. */
export interface ProcSnapshot {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTicks: number;
  comm: string;
  exe: string;
  cwd: string;
  argv: string[];
  uid: number;
}

/**
 * readProc reads /proc/<pid> for a process the sensor saw act but never saw start (it was
 * running before the agent, or forked without exec). Returns null when the process is gone or
 * unreadable. Synchronous on purpose: it runs once per unknown process and /proc reads do not
 * block on disk.
 */
export function readProc(pid: number, procRoot = '/proc'): ProcSnapshot | null {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
    // comm may contain spaces and parentheses: it runs to the LAST ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    const ppid = Number(rest[1]);
    const startTicks = Number(rest[19]);
    const status = readFileSync(`${procRoot}/${pid}/status`, 'latin1');
    const uidLine = /^Uid:\s+(\d+)/m.exec(status);
    const cmd = readFileSync(`${procRoot}/${pid}/cmdline`);
    let text = cmd.toString('utf8');
    if (text.endsWith('\0')) text = text.slice(0, -1);
    return {
      pid,
      ppid,
      startTicks,
      comm,
      exe: safeReadlink(`${procRoot}/${pid}/exe`),
      cwd: safeReadlink(`${procRoot}/${pid}/cwd`),
      argv: text === '' ? [] : text.split('\0'),
      uid: uidLine ? Number(uidLine[1]) : 0,
    };
  } catch {
    return null;
  }
}

function safeReadlink(p: string): string {
  try {
    return readlinkSync(p).replace(/ \(deleted\)$/, '');
  } catch {
    return '';
  }
}

/** readBootId returns the kernel's boot id, which makes process ids unique across reboots. */
export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

/** listPids returns the pids of the processes running now (thread-group leaders). */
export function listPids(procRoot = '/proc'): number[] {
  try {
    return readdirSync(procRoot)
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return [];
  }
}
