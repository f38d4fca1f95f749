// Fleet management end to end (needs root: the agent loads the eBPF sensor): a real server
// process, a real agent process following its group's policy (no --tier override), the real
// kernel sensor, and the `palisade` CLI as an operator would use it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Proc, runCli, type ServerHandle, startAgentProcess, startServerProcess } from './processes.js';
import { removeTempDir, tempDir, waitFor } from '@palisade/testkit';

// biome-ignore lint/suspicious/noExplicitAny: tests probe the CLI's JSON freely
type Json = Record<string, any>;

let server: ServerHandle;
let agent: Proc;
let agentId: string;
const agentState = tempDir('palisade-e2e-fleet-agent-');
const ECHO = realpathSync('/bin/echo');
/** RUN starts every marker of this file, so that searches for it find only its own execs. */
const RUN = `fleet${randomBytes(4).toString('hex')}`;

async function cli(...args: string[]): Promise<string> {
  const r = await runCli([...args, '--data-dir', server.dataDir]);
  assert.equal(r.code, 0, `palisade ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// biome-ignore lint/suspicious/noExplicitAny: tests probe the CLI's JSON freely
async function cliJson(...args: string[]): Promise<any> {
  return JSON.parse(await cli(...args, '--json'));
}

function echo(text: string): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn(ECHO, [text], { stdio: 'ignore' });
    c.on('error', rej);
    c.on('exit', () => res());
  });
}

/** echoEvents returns the stored launch (1) and terminate (2) activities of /bin/echo with `marker`. */
async function echoEvents(marker: string): Promise<Json[]> {
  const r = await cliJson('events', 'search', '--class', 'process', '--contains', marker, '--limit', '1000');
  return (r as Json[]).filter((e) => e.process?.path === ECHO);
}

before(async () => {
  server = await startServerProcess();
  agent = startAgentProcess(server, agentState);
  const a = await waitFor(
    'the agent to connect',
    async () =>
      ((await cliJson('agents', 'list')) as Json[]).find((x) => x.connection?.state === 'connected'),
    60_000,
  ).catch((err) => {
    throw new Error(`${err.message}\n--- agent ---\n${agent.output()}\n--- server ---\n${server.output()}`);
  });
  agentId = a.id;
});

after(async () => {
  await agent?.stop();
  await server?.stop();
  removeTempDir(agentState);
});

/**
 * exitSeen runs /bin/echo with fresh markers until one's launch is stored, then tells whether its
 * termination is stored too within `graceMs` (the workstation tier reports it, the server tier not).
 */
async function exitSeen(tag: string, graceMs: number): Promise<boolean> {
  const marker = `${RUN}-${tag}-${randomBytes(5).toString('hex')}`;
  await echo(marker);
  await waitFor(
    'the launch event',
    async () => (await echoEvents(marker)).find((e) => e.activity_id === 1),
    15_000,
  );
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if ((await echoEvents(marker)).some((e) => e.activity_id === 2)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

test('a tier change reaches the running agent within 5 s and changes what it collects (root)', async (t) => {
  // The default group runs the server tier: launches only.
  assert.equal(await exitSeen('server-tier', 3000), false, 'server tier must not report terminations');
  const started = Date.now();
  const out = await cli('groups', 'set-policy', 'default', '--tier', 'workstation');
  assert.match(out, /pushed to 1 connected agent/);
  // Keep exec'ing until a termination is reported: that is the moment the agent collects more.
  let changedAfter = -1;
  for (let i = 0; i < 50 && changedAfter < 0; i++) {
    if (await exitSeen(`ws-${i}`, 500)) changedAfter = Date.now() - started;
  }
  assert.ok(changedAfter >= 0, 'the workstation tier never took effect');
  t.diagnostic(`first termination reported ${changedAfter} ms after the policy change`);
  assert.ok(changedAfter < 5000 + 1500, `terminations reported ${changedAfter} ms after the change`);
});

test('moving the agent to a server-tier group: terminations stop (root)', async () => {
  await cli('groups', 'create', 'quiet', '--tier', 'server');
  await cli('agents', 'move', agentId, '--group', 'quiet');
  const view = await cliJson('agents', 'get', agentId).catch(async () =>
    JSON.parse(await cli('agents', 'get', agentId)),
  );
  assert.equal(view.group, 'quiet');
  await waitFor('the server tier to take effect', async () => !(await exitSeen('moved', 2000)), 20_000);
  const table = await cli('groups', 'list');
  assert.match(table, /quiet\s+\S+\s+server\s+stable\s+always\s+\d+\s+1\s/);
});

test('decommissioning: the agent is cut off and its credential refused; its data stays (root)', async () => {
  const before = await echoEvents(RUN);
  await cli('agents', 'decommission', agentId);
  await waitFor(
    'the connection to close',
    async () =>
      ((await cliJson('agents', 'list')) as Json[]).find(
        (x) => x.id === agentId && x.connection.state === 'disconnected',
      ),
    10_000,
  );
  const marker = `${RUN}-after-decommission-${randomBytes(5).toString('hex')}`;
  await echo(marker);
  await new Promise((r) => setTimeout(r, 4000));
  assert.deepEqual(await echoEvents(marker), [], 'nothing is accepted from a decommissioned agent');
  const a = ((await cliJson('agents', 'list', '--status', 'decommissioned')) as Json[]).find(
    (x) => x.id === agentId,
  );
  assert.equal(a?.connection.state, 'disconnected');
  assert.ok(before.length > 0);
  assert.equal((await echoEvents(RUN)).length, before.length, 'earlier events stay searchable, none added');
  const audit = await cli('audit', 'search', '--target', agentId);
  assert.match(audit, /agent\.decommission/);
  assert.match(audit, /agent\.move/);
});
