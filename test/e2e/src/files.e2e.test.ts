// File collection end to end (root: the agent loads its sensors): a real server process and a real
// agent process over real TLS on loopback, the CLI. A 300 MiB file of random bytes is collected;
// the agent is killed (SIGKILL) and the server stopped in the middle of the upload, both restart,
// and the upload resumes where it was, with the same final hash; refusals store nothing.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, symlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { removeTempDir, tempDir, waitFor } from '@palisade/testkit';
import {
  type Proc,
  portsOf,
  runCli,
  type ServerHandle,
  startAgentProcess,
  startServerProcess,
} from './processes.js';

// biome-ignore lint/suspicious/noExplicitAny: tests probe the CLI's JSON freely
type Json = any;

const MiB = 1024 * 1024;
const work = tempDir('palisade-e2e-files-');
const agentState = tempDir('palisade-e2e-files-agent-');
let server: ServerHandle | undefined;
let agent: Proc | undefined;

after(async () => {
  await agent?.stop('SIGKILL');
  await server?.stop();
  if (server) removeTempDir(server.dataDir);
  removeTempDir(agentState);
  removeTempDir(work);
});

/** peakRssMiB is a process's peak resident set (VmHWM), MiB. */
function peakRssMiB(pid: number | undefined): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

async function cli(args: string[]): Promise<Json> {
  const r = await runCli([...args, '--json', '--data-dir', server!.dataDir]);
  assert.ok(r.stdout, `palisade ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function connectedAgent(): Promise<string> {
  return waitFor(
    'the agent to connect',
    async () => {
      const list = (await cli(['agents', 'list'])) as Json[];
      return list.find((a) => a.connection?.state === 'connected' || a.connection?.connected === true)?.id;
    },
    60_000,
  );
}

function blobs(dataDir: string): string[] {
  const root = join(dataDir, 'files', 'blobs');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)));
}

test('collect-file (root): 300 MiB collected, agent SIGKILLed and server stopped mid-upload, both restart, the upload resumes; same sha256; bounded RSS; refusals store nothing', async () => {
  const file = join(work, 'random.bin');
  const fd = openSync(file, 'w');
  const h = createHash('sha256');
  for (let i = 0; i < 300; i++) {
    const b = randomBytes(MiB);
    h.update(b);
    writeSync(fd, b);
  }
  closeSync(fd);
  const want = h.digest('hex');

  server = await startServerProcess();
  agent = startAgentProcess(server, agentState);
  const agentId = await connectedAgent();
  const issued = await cli([
    'agents',
    'collect-file',
    agentId,
    '--path',
    file,
    '--max-bytes',
    String(400 * MiB),
  ]);
  const cmdId: string = issued.id ?? issued.command?.id;
  assert.ok(cmdId, JSON.stringify(issued));
  // Wait until part of the file is in, then SIGKILL the agent and stop the server.
  const incoming = join(server.dataDir, 'files', 'incoming');
  const receivedAtCut = await waitFor(
    'part of the upload to arrive',
    async () => {
      for (const f of existsSync(incoming) ? readdirSync(incoming) : []) {
        if (!f.endsWith('.json')) continue;
        const s = JSON.parse(readFileSync(join(incoming, f), 'utf8'));
        if (s.received >= 40 * MiB && s.received < s.size) return s.received as number;
      }
      return undefined;
    },
    60_000,
    25,
  );
  const rssBefore = { agent: peakRssMiB(agent.child.pid), server: peakRssMiB(server.child.pid) };
  await agent.stop('SIGKILL');
  const ports = portsOf(server);
  await server.stop();
  assert.ok(readdirSync(join(agentState, 'uploads')).length === 1, 'the agent kept its upload record');

  server = await startServerProcess(server.dataDir, ports);
  agent = startAgentProcess(server, agentState);
  const done = await waitFor(
    'the collection to finish',
    async () => {
      const c = await cli(['commands', 'show', cmdId]);
      return c.state === 'succeeded' || c.state === 'failed' ? c : undefined;
    },
    120_000,
  );
  assert.equal(done.state, 'succeeded', JSON.stringify(done));
  const got = done.result.collected;
  assert.equal(got.sha256, want);
  assert.equal(got.size, 300 * MiB);
  assert.ok(got.resumed_from > 0 && got.resumed_from <= receivedAtCut + 8 * MiB, JSON.stringify(got));
  const blob = join(server.dataDir, 'files', 'blobs', want.slice(0, 2), want);
  const stored = createHash('sha256');
  stored.update(readFileSync(blob));
  assert.equal(stored.digest('hex'), want);
  const rssAfter = { agent: peakRssMiB(agent.child.pid), server: peakRssMiB(server.child.pid) };
  console.log(
    `collect-file: cut at ${receivedAtCut} bytes, resumed at ${got.resumed_from}; sha256 ${want}; peak RSS before the cut agent ${rssBefore.agent} MiB, server ${rssBefore.server} MiB; after the restart agent ${rssAfter.agent} MiB, server ${rssAfter.server} MiB`,
  );

  // Refusals: each a clear error in the command result, nothing stored.
  const before = blobs(server.dataDir).length;
  const fifo = join(work, 'fifo');
  execFileSync('mkfifo', [fifo]);
  symlinkSync(join(work, 'loop-b'), join(work, 'loop-a'));
  symlinkSync(join(work, 'loop-a'), join(work, 'loop-b'));
  const cases: [string[], RegExp][] = [
    [['--path', '/dev/zero'], /character device/],
    [['--path', fifo], /FIFO/],
    [['--path', work], /directory/],
    [['--path', file, '--max-bytes', '1000'], /over the cap of 1000 bytes/],
    [['--path', join(work, 'missing')], /no such file/],
    [['--path', join(work, 'loop-a')], /symbolic link \(or a loop of them\)/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli([
      'agents',
      'collect-file',
      agentId,
      ...args,
      '--wait',
      '--timeout',
      '60',
      '--json',
      '--data-dir',
      server.dataDir,
    ]);
    assert.ok(r.stdout, `${args.join(' ')}: ${r.stderr}`);
    const c = JSON.parse(r.stdout);
    assert.equal(c.state, 'failed', `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
    assert.match(c.result.message, re);
  }
  assert.equal(blobs(server.dataDir).length, before);
});
