// kill-process only ever signals processes this test started (sleep children), pid 1 and the
// test process itself are refused by design; nothing else on the machine is touched.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { waitFor } from '@palisade/testkit';
import { MS_PER_TICK, processUniqueId } from '../process-identity.js';
import { readBootId } from '../sensors/bpf/proc-reader.linux.js';
import { killProcess } from './kill-process.linux.js';
import { bootWallMs, readStat } from './proc-tree.linux.js';

const children: ChildProcess[] = [];
const orphans: number[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
});

const bootId = readBootId();
const ctx = { bootId };

function sleeper(args = ['sleep', '60']): ChildProcess {
  const c = spawn(args[0]!, args.slice(1), { stdio: 'ignore' });
  children.push(c);
  return c;
}

/**
 * orphan starts a fixed test program whose parent exits at once, so it is not below this
 * process (which stands in for the agent, whose descendants are protected); returns its pid.
 */
async function orphan(program: string): Promise<number> {
  const sh = spawn('sh', ['-c', `${program} >/dev/null 2>&1 & echo $!`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  sh.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise((r) => sh.once('exit', r));
  const pid = Number(out.trim());
  orphans.push(pid);
  await waitFor('the orphan to be re-parented', () => readStat(pid, '/proc')?.ppid !== sh.pid);
  return pid;
}

function startOf(pid: number): { ms: number; uid: string } {
  const st = readStat(pid, '/proc')!;
  return {
    ms: Math.round(bootWallMs('/proc') + st.startTicks * MS_PER_TICK),
    uid: processUniqueId(bootId, pid, st.startTicks),
  };
}

async function dead(pid: number): Promise<void> {
  await waitFor(`process ${pid} to be gone`, () => {
    const st = readStat(pid, '/proc');
    return !st || st.state === 'Z';
  });
}

test('kills the process named by pid and start time; a start time that does not match kills nothing', async () => {
  const pid = await orphan('sleep 60');
  const { ms, uid } = startOf(pid);
  const wrong = await killProcess({ pid, startTimeMs: ms - 5000, processUid: '', tree: false }, ctx);
  assert.equal(wrong.ok, false);
  assert.equal(wrong.code, 'start_time_mismatch');
  assert.match(wrong.message, /pid was reused; nothing killed/);
  const wrongUid = await killProcess({ pid, startTimeMs: 0, processUid: 'f'.repeat(32), tree: false }, ctx);
  assert.equal(wrongUid.code, 'start_time_mismatch');
  assert.equal(readStat(pid, '/proc')?.state, 'S', 'still running (sleeping)');
  const ok = await killProcess({ pid, startTimeMs: ms + 20, processUid: uid, tree: false }, ctx);
  assert.equal(ok.ok, true, ok.message);
  assert.deepEqual(ok.killedPids, [pid]);
  assert.equal(ok.process?.uid, uid);
  assert.equal(ok.process?.name, 'sleep');
  assert.match(ok.process?.cmdLine ?? '', /sleep 60/);
  await dead(pid);
  const gone = await killProcess({ pid, startTimeMs: ms, processUid: '', tree: false }, ctx);
  assert.equal(gone.code, 'not_found');
});

test('refuses pid 1, the agent itself, its helpers, kernel threads, bad pids and a missing start time', async () => {
  const helper = sleeper(); // a child of this process: what the agent's helpers are to it
  await waitFor('the helper to run', () => readStat(helper.pid!, '/proc') !== undefined);
  const self = startOf(process.pid);
  const kthread = Number(readFileSync('/proc/2/stat', 'latin1').includes('kthreadd') ? 2 : Number.NaN);
  const cases: [string, Parameters<typeof killProcess>[0], string][] = [
    ['pid 1', { pid: 1, startTimeMs: 1, processUid: '', tree: false }, 'protected'],
    ['the agent', { pid: process.pid, startTimeMs: self.ms, processUid: '', tree: false }, 'protected'],
    [
      'a helper',
      { pid: helper.pid!, startTimeMs: startOf(helper.pid!).ms, processUid: '', tree: false },
      'protected',
    ],
    ['pid 0', { pid: 0, startTimeMs: 1, processUid: '', tree: false }, 'bad_request'],
    ['no start time', { pid: helper.pid!, startTimeMs: 0, processUid: '', tree: false }, 'bad_request'],
  ];
  if (!Number.isNaN(kthread))
    cases.push([
      'kthreadd',
      { pid: 2, startTimeMs: startOf(2).ms, processUid: '', tree: false },
      'protected',
    ]);
  for (const [name, req, code] of cases) {
    const r = await killProcess(req, ctx);
    assert.equal(r.ok, false, name);
    assert.equal(r.code, code, `${name}: ${r.message}`);
  }
  assert.equal(helper.exitCode, null, 'the helper lives');
});

test('tree: the process and every descendant are killed; a protected pid inside kills nothing', async () => {
  const root = await orphan('sh -c "sleep 61 & sleep 62 & wait"');
  const kids = await waitFor('two children of the tree', () => {
    const k = readFileSync(`/proc/${root}/task/${root}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return k.length === 2 ? k.map(Number) : undefined;
  });
  const { ms } = startOf(root);
  const refused = await killProcess(
    { pid: root, startTimeMs: ms, processUid: '', tree: true },
    { ...ctx, protectedPids: () => [kids[0]!] },
  );
  assert.equal(refused.code, 'protected');
  for (const p of [root, ...kids])
    assert.notEqual(readStat(p, '/proc')?.state, 'T', `process ${p} is running again`);
  const plain = await killProcess({ pid: root, startTimeMs: ms, processUid: '', tree: true }, ctx);
  assert.equal(plain.ok, true, plain.message);
  assert.deepEqual(
    plain.killedPids,
    [root, ...kids].sort((a, b) => a - b),
  );
  for (const p of [root, ...kids]) await dead(p);
});
