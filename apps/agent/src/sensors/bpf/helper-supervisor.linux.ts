import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { Backoff, type Logger } from '@palisade/common';
import { checkHelperBinary } from '../binary-trust.linux.js';

/** HELPER_EXIT_REASONS names the helper's distinct exit codes (sensor-bpf/src/helper.c). */
export const HELPER_EXIT_REASONS: Record<number, string> = {
  2: 'no kernel BTF',
  3: 'no permission to load eBPF programs',
  4: 'the kernel refused the eBPF programs',
  5: 'cannot attach the eBPF programs',
  6: 'tracefs unavailable',
};

/** HelperStatus is where the supervised helper stands. */
export type HelperStatus =
  | { state: 'idle' }
  | { state: 'starting' }
  | { state: 'running'; pid: number }
  | { state: 'restarting'; lastExit: string }
  | { state: 'failed'; reason: string }
  | { state: 'stopped' };

/** HelperSupervisorOptions configure the supervisor. */
export interface HelperSupervisorOptions {
  path: string;
  /** Arguments for each start (they carry the current tier and ignored pids). */
  args: () => string[];
  /** A chunk of the helper's stdout. */
  onStdout: (chunk: Buffer) => void;
  /** A new helper process is starting: drop any partial record of the previous one. */
  onSpawn: () => void;
  logger: Logger;
  backoff?: Backoff;
  /** A helper that ran this long before exiting resets the backoff. @default 30000 */
  stableMs?: number;
}

/**
 * HelperSupervisor runs the eBPF helper and keeps it running: an unexpected exit is logged and
 * followed by a restart after a Backoff delay (counted in `restarts`); an exit with one of the
 * helper's load-failure codes before it announced itself is permanent (restarting cannot fix a
 * kernel without BTF) and becomes `failed` with the helper's own explanation.
 */
export class HelperSupervisor {
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private readyNow = false;
  private startedAt = 0;
  private stderrTail: string[] = [];
  private stderrLogged = 0;
  private readonly backoff: Backoff;
  status: HelperStatus = { state: 'idle' };
  restarts = 0;

  constructor(private readonly opts: HelperSupervisorOptions) {
    this.backoff = opts.backoff ?? new Backoff({ initialMs: 500, maxMs: 30_000 });
  }

  /**
   * start runs the helper; a missing or non-executable helper, or one that others could have
   * changed (checkHelperBinary), fails at once, without throwing.
   */
  start(): void {
    this.stopping = false;
    try {
      accessSync(this.opts.path, constants.X_OK);
    } catch {
      this.status = {
        state: 'failed',
        reason: `helper not built: ${this.opts.path} is missing or not executable (run make -C apps/agent/sensor-bpf)`,
      };
      this.opts.logger.warn({ path: this.opts.path }, 'eBPF helper not available');
      return;
    }
    this.spawnOnce();
  }

  /** trusted checks the helper before each start (it could have changed since the last one). */
  private trusted(): string | undefined {
    const t = checkHelperBinary(this.opts.path);
    if (t.ok) return t.path;
    this.fail(`helper refused: ${t.reason}`);
    return undefined;
  }

  /** ready marks the helper as up (it sent its hello record). */
  ready(): void {
    this.readyNow = true;
    if (this.child?.pid) this.status = { state: 'running', pid: this.child.pid };
  }

  /** send writes one control line; returns false when no helper is running. */
  send(line: string): boolean {
    const c = this.child;
    if (!c?.stdin || c.stdin.destroyed) return false;
    c.stdin.write(`${line}\n`);
    return true;
  }

  /** kill ends the current helper (it will be restarted), e.g. after a corrupt stream. */
  kill(why: string): void {
    if (!this.child) return;
    this.opts.logger.warn({ why }, 'killing the eBPF helper');
    this.child.kill('SIGKILL');
  }

  /** fail ends the helper and gives up: restarting cannot fix it (e.g. a version mismatch). */
  fail(reason: string): void {
    this.status = { state: 'failed', reason };
    this.opts.logger.error({ reason }, 'eBPF sensor cannot run');
    this.child?.kill('SIGKILL');
  }

  /** stop ends the helper for good: closes its stdin, then kills it if it lingers. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.stdin?.end();
      const t = setTimeout(() => c.kill('SIGKILL'), 2000);
      // Detaching eBPF programs can keep the helper in the kernel for a while; do not wait forever.
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((r) => (giveUp = setTimeout(r, 10_000)))]);
      clearTimeout(t);
      clearTimeout(giveUp);
    }
    this.status = { state: 'stopped' };
  }

  private spawnOnce(): void {
    const path = this.trusted();
    if (path === undefined) return;
    this.opts.onSpawn();
    this.readyNow = false;
    this.stderrTail = [];
    this.stderrLogged = 0;
    this.startedAt = Date.now();
    this.status = { state: 'starting' };
    const c = spawn(path, this.opts.args(), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = c;
    c.stdout?.on('data', (b: Buffer) => this.opts.onStdout(b));
    c.stdin?.on('error', () => {}); // EPIPE when the helper dies; the exit handler deals with it
    let partial = '';
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) this.stderrLine(l);
    });
    c.on('error', (err) => {
      // spawn itself failed (ENOENT/EACCES raced with the check): permanent.
      this.child = null;
      this.status = { state: 'failed', reason: `cannot run the helper ${this.opts.path}: ${err.message}` };
    });
    c.on('exit', (code, signal) => {
      if (partial) this.stderrLine(partial);
      this.child = null;
      this.onExit(code, signal);
    });
  }

  private stderrLine(line: string): void {
    if (!line.trim()) return;
    this.stderrTail.push(line.slice(0, 500));
    if (this.stderrTail.length > 20) this.stderrTail.shift();
    if (this.stderrLogged++ < 50) this.opts.logger.warn({ line: line.slice(0, 500) }, 'eBPF helper stderr');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const last = this.stderrTail[this.stderrTail.length - 1] ?? '';
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (this.stopping) {
      this.status = { state: 'stopped' };
      return;
    }
    if (this.status.state === 'failed') return;
    if (!this.readyNow && code !== null && HELPER_EXIT_REASONS[code]) {
      const reason = `${HELPER_EXIT_REASONS[code]}: ${last.replace(/^palisade-sensor: /, '') || how}`;
      this.status = { state: 'failed', reason };
      this.opts.logger.error({ code, reason }, 'eBPF sensor cannot run');
      return;
    }
    if (Date.now() - this.startedAt >= (this.opts.stableMs ?? 30_000)) this.backoff.reset();
    const delay = this.backoff.next();
    this.restarts++;
    const lastExit = `${how}${last ? ` (${last})` : ''}`;
    this.status = { state: 'restarting', lastExit };
    this.opts.logger.warn(
      { lastExit, delayMs: delay, restarts: this.restarts },
      'eBPF helper exited; restarting',
    );
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopping) this.spawnOnce();
    }, delay);
  }
}
