import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@palisade/common';
import { LOCK_FILE_NAME, type ReleaseLock, StateLockError } from './state-lock-contract.js';

/** util-linux's flock(1), on every Linux distribution (Essential on Debian, in RHEL's base). */
export const FLOCK_PATHS = ['/usr/bin/flock', '/bin/flock'];
/** The exit code flock(1) is told to use when another process holds the lock. */
const CONFLICT = 100;
/** The fd number the lock file has in flock(1). */
const CHILD_FD = 3;

function readPid(fd: number): number | undefined {
  const buf = Buffer.alloc(32);
  const n = readSync(fd, buf, 0, buf.length, 0);
  const text = buf.toString('utf8', 0, n).trim();
  return /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

/** sleepSync waits without spinning (start-up only). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * lockWithFlock takes an exclusive flock(2) on `<stateDir>/agent.lock`. Node has no flock, so
 * util-linux's flock(1) takes it on the agent's own open file description (passed as fd 3):
 * the lock belongs to that description, which only the agent holds (libuv opens files
 * close-on-exec, so the eBPF helper and the journal reader never inherit it), and the kernel
 * drops it when the agent's last descriptor closes: at exit, before the process is a zombie,
 * and at every reboot. The file only tells people the holder's pid; nothing compares it. The
 * state directory is root-only (0700), so no other user can open the file to hold the lock.
 */
export function lockWithFlock(stateDir: string, log: Logger, flockPath?: string): ReleaseLock {
  const path = join(stateDir, LOCK_FILE_NAME);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const flock = flockPath ?? FLOCK_PATHS.find((p) => existsSync(p));
  if (!flock) {
    // Refusing to start would leave the host blind for want of a lock; run, and say so.
    log.error(
      { path },
      'flock(1) (util-linux) not found: running without the single-instance lock of the state directory',
    );
    return () => closeSync(fd);
  }
  const r = spawnSync(
    flock,
    ['--nonblock', '--exclusive', '--conflict-exit-code', String(CONFLICT), String(CHILD_FD)],
    { stdio: ['ignore', 'ignore', 'pipe', fd], env: {}, timeout: 10_000 },
  );
  if (r.status === CONFLICT) {
    // The holder writes its pid right after it locks: give it a moment when we came in between.
    let pid = readPid(fd);
    for (let i = 0; i < 10 && pid === undefined; i++) {
      sleepSync(50);
      pid = readPid(fd);
    }
    closeSync(fd);
    throw new StateLockError(
      `another agent (${pid === undefined ? 'pid unknown' : `pid ${pid}`}) is already running with state directory ${stateDir}`,
    );
  }
  if (r.status !== 0) {
    closeSync(fd);
    const why = r.error?.message ?? (String(r.stderr ?? '').trim() || `exit ${r.status ?? r.signal}`);
    throw new StateLockError(`cannot lock ${path} with ${flock}: ${why}`);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    try {
      ftruncateSync(fd, 0);
    } finally {
      closeSync(fd);
    }
  };
}
