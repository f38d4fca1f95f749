import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, rssMb } from './proc-stats.js';
import { sleep } from '@palisade/testkit';

const AUDITD = '/usr/sbin/auditd';
const AUDITCTL = '/usr/sbin/auditctl';
const CONF = '/etc/audit/auditd.conf';
/** Debian's packaged rules (/etc/audit/rules.d/audit.rules) raise the kernel backlog to this. */
const BACKLOG = '8192';
const KEY = 'palisade-bench';
const RULE = ['-F', 'arch=b64', '-S', 'execve', '-F', `key=${KEY}`];

function pidOf(comm: string): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) return Number(d);
    } catch {}
  }
  return 0;
}

function auditStatus(): { enabled: string; backlog: string } {
  const s = execFileSync(AUDITCTL, ['-s'], { encoding: 'utf8' });
  return { enabled: /enabled (\d)/.exec(s)?.[1] ?? '0', backlog: /backlog_limit (\d+)/.exec(s)?.[1] ?? '64' };
}

/**
 * Auditd is auditd with one execve rule, for the side-by-side comparison. `start` runs auditd in
 * the foreground as our child, with the packaged config except that it logs into `dir` (so the
 * system's /var/log/audit is not rotated by the bench), sets the kernel backlog Debian's packaged
 * rules set, and adds the rule; `stop` deletes the rule, stops auditd and restores the kernel's
 * audit-enabled flag and backlog limit, so the machine is left as it was found. An auditd that
 * already runs is refused: its rules and log are someone else's.
 */
export class Auditd {
  private child: ChildProcess | undefined;
  /** The kernel's audit flags before start; undefined until read (then they are restored). */
  private before: { enabled: string; backlog: string } | undefined;
  pid = 0;
  kauditd = 0;
  private ruleAdded = false;
  private readonly log: string;

  constructor(private readonly dir: string) {
    this.log = join(dir, 'audit.log');
  }

  static available(): boolean {
    return existsSync(AUDITD) && existsSync(AUDITCTL);
  }

  async start(): Promise<void> {
    if (pidOf('auditd')) throw new Error('auditd is already running: the bench will not touch its rules');
    this.before = auditStatus();
    const conf = readFileSync(CONF, 'utf8')
      .replace(/^log_file\s*=.*$/m, `log_file = ${this.log}`)
      .replace(/^max_log_file\s*=.*$/m, 'max_log_file = 1000');
    writeFileSync(join(this.dir, 'auditd.conf'), conf, { mode: 0o600 });
    this.child = spawn(AUDITD, ['-n', '-c', this.dir], { stdio: 'ignore' });
    for (let i = 0; i < 50 && !this.pid; i++) {
      await sleep(100);
      this.pid = pidOf('auditd');
    }
    if (!this.pid) throw new Error('auditd did not start');
    execFileSync(AUDITCTL, ['-b', BACKLOG], { stdio: 'ignore' });
    execFileSync(AUDITCTL, ['-a', 'always,exit', ...RULE], { stdio: 'ignore' });
    this.ruleAdded = true;
    // Interrupted (Ctrl-C) or crashed: still take the rule out and restore the kernel's flags.
    process.once('exit', this.restoreSync);
    this.kauditd = pidOf('kauditd');
    await sleep(500);
  }

  /** cpu is auditd's plus kauditd's (the kernel thread that hands records to it) CPU seconds. */
  cpu(): number {
    return cpuSeconds(this.pid) + (this.kauditd ? cpuSeconds(this.kauditd) : 0);
  }

  peakRssMb(): number {
    return rssMb(this.pid).peak;
  }

  /** countExecs counts the EXECVE records of `<program> <marker>` in auditd's log. */
  countExecs(marker: string, program = '/bin/true'): number {
    if (!existsSync(this.log)) return 0;
    const want = `a0="${program}" a1="${marker}"`;
    let n = 0;
    for (const line of readFileSync(this.log, 'utf8').split('\n'))
      if (line.startsWith('type=EXECVE') && line.includes(want)) n++;
    return n;
  }

  private readonly restoreSync = (): void => {
    try {
      if (this.ruleAdded) execFileSync(AUDITCTL, ['-d', 'always,exit', ...RULE], { stdio: 'ignore' });
      this.ruleAdded = false;
      this.child?.kill('SIGTERM');
      if (this.before)
        execFileSync(AUDITCTL, ['-e', this.before.enabled, '-b', this.before.backlog], { stdio: 'ignore' });
    } catch {
      // Best effort at exit: auditctl itself may be gone or refused.
    }
  };

  async stop(): Promise<void> {
    process.removeListener('exit', this.restoreSync);
    if (this.ruleAdded) execFileSync(AUDITCTL, ['-d', 'always,exit', ...RULE], { stdio: 'ignore' });
    this.ruleAdded = false;
    if (this.child) {
      const exited = new Promise((r) => this.child!.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      this.child = undefined;
    }
    if (this.before)
      execFileSync(AUDITCTL, ['-e', this.before.enabled, '-b', this.before.backlog], { stdio: 'ignore' });
  }
}
