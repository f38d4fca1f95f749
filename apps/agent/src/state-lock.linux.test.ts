// The single-instance lock of the state directory, with real processes: a stale lock file, a
// zombie holder, a holder whose child outlives it, and two agents started at the same moment.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir, waitFor } from '@palisade/testkit';
import { LOCK_FILE_NAME, lockStateDir, StateLockError } from './state-lock.js';

const lockFixture = fileURLToPath(new URL('./state-lock.fixture.js', import.meta.url));
const agentFixture = fileURLToPath(new URL('./main.fixture.js', import.meta.url));

interface Proc {
  child: ChildProcess;
  out(): string;
  exit: Promise<number | null>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function processState(pid: number): string {
  // /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces, the state follows the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

test('a lock file left naming a live, unrelated process (pid 1) does not keep the agent from starting', () => {
  const dir = tempDir('palisade-lock-');
  const file = join(dir, LOCK_FILE_NAME);
  writeFileSync(file, '1\n');
  const release = lockStateDir(dir);
  assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n`, 'the file names the holder, for people');
  // While held, a second taker is refused and told who holds it.
  assert.throws(
    () => lockStateDir(dir),
    (err: Error) =>
      err instanceof StateLockError &&
      err.message === `another agent (pid ${process.pid}) is already running with state directory ${dir}`,
  );
  release();
  release(); // idempotent
  lockStateDir(dir)();
});

test('a holder that was killed and is still a zombie (not reaped) no longer holds the lock', async (t) => {
  const dir = tempDir('palisade-lock-');
  // sh starts the holder in the background and then becomes `sleep`, which never reaps it: when
  // the holder is killed it stays a zombie for as long as the sleep runs.
  const parent = start('sh', ['-c', '"$0" "$1" "$2" & exec sleep 60', process.execPath, lockFixture, dir]);
  t.after(() => kill(parent.child.pid));
  const m = await waitFor('the holder to lock', () => /locked (\d+)/.exec(parent.out()) ?? undefined, 10_000);
  const holder = Number(m[1]);
  assert.throws(() => lockStateDir(dir), new RegExp(`another agent \\(pid ${holder}\\) is already running`));
  process.kill(holder, 'SIGKILL');
  // SIGKILL ends the leader thread first: /proc shows it 'Z' while node's other threads are still
  // exiting and still share its descriptor table. Its descriptors are closed once the leader is
  // the last task left.
  await waitFor(
    'the holder to be a zombie with no thread left',
    () => processState(holder) === 'Z' && readdirSync(`/proc/${holder}/task`).length === 1,
    10_000,
  );
  assert.equal(
    readFileSync(join(dir, LOCK_FILE_NAME), 'utf8'),
    `${holder}\n`,
    'its pid is still in the file',
  );
  assert.ok(alive(holder), 'kill(pid, 0) still succeeds on the zombie');
  const release = lockStateDir(dir);
  assert.equal(processState(holder), 'Z', 'still a zombie while the lock was taken over');
  release();
});

test('a killed holder whose child (a helper) lives on no longer holds the lock', async (t) => {
  const dir = tempDir('palisade-lock-');
  const holder = start(process.execPath, [lockFixture, dir, '--with-child']);
  let childPid: number | undefined;
  t.after(() => {
    kill(holder.child.pid);
    kill(childPid);
  });
  const m = await waitFor(
    'the holder and its child',
    () => /child (\d+)/.exec(holder.out()) ?? undefined,
    10_000,
  );
  childPid = Number(m[1]);
  assert.throws(() => lockStateDir(dir), StateLockError);
  holder.child.kill('SIGKILL');
  await holder.exit;
  assert.ok(alive(childPid), 'the child outlives the holder');
  // The child did not inherit the lock file.
  lockStateDir(dir)();
});

test('many pairs of processes started at once on one state directory: exactly one of each pair holds it', async (t) => {
  for (let round = 0; round < 8; round++) {
    const dir = tempDir('palisade-lock-');
    const pair = [start(process.execPath, [lockFixture, dir]), start(process.execPath, [lockFixture, dir])];
    t.after(() => {
      for (const p of pair) kill(p.child.pid);
    });
    const refused = await Promise.race(pair.map((p, i) => p.exit.then(() => i)));
    const loser = pair[refused]!;
    const winner = pair[1 - refused]!;
    assert.equal(await loser.exit, 2, loser.out());
    await waitFor('the winner to report', () => winner.out().includes('locked'), 10_000);
    assert.equal(winner.child.exitCode, null, 'the winner keeps running');
    assert.match(
      loser.out(),
      new RegExp(
        `^refused: another agent \\(pid ${winner.child.pid}\\) is already running with state directory`,
      ),
    );
    winner.child.kill('SIGKILL');
    await winner.exit;
  }
});

test('two `palisade agent` processes started at once on one state directory: one runs, the other exits naming it', async (t) => {
  const dir = tempDir('palisade-lock-');
  // An unreachable server: both wait to register, which happens after the lock.
  const env = { ...process.env, PALISADE_REGISTRATION_KEY: 'prk_whatever' };
  const args = [agentFixture, '--server', 'https://127.0.0.1:1', '--state-dir', join(dir, 'state')];
  const pair = [start(process.execPath, args, env), start(process.execPath, args, env)];
  t.after(() => {
    for (const p of pair) kill(p.child.pid);
  });
  const refused = await Promise.race(pair.map((p, i) => p.exit.then(() => i)));
  const loser = pair[refused]!;
  const winner = pair[1 - refused]!;
  assert.equal(await loser.exit, 2, loser.out());
  assert.match(
    loser.out(),
    new RegExp(
      `palisade agent: another agent \\(pid ${winner.child.pid}\\) is already running with state directory ${join(dir, 'state')}`,
    ),
  );
  await waitFor('the winner to try registering', () => /retrying/.test(winner.out()), 20_000);
  assert.equal(winner.child.exitCode, null, winner.out());
  winner.child.kill('SIGTERM');
  assert.equal(await winner.exit, 0);
});
