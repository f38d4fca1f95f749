// End to end, as a new user sees it (needs root: the agent loads the eBPF sensor): a real server
// process and a real agent process over real TLS sockets, the real kernel sensor, and the CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { OcsfValidator } from '@palisade/testkit';
import {
  portsOf,
  type Proc,
  runCli,
  type ServerHandle,
  startAgentProcess,
  startServerProcess,
} from './processes.js';
import { removeTempDir, tempDir, waitFor } from '@palisade/testkit';

let server: ServerHandle;
let agent: Proc;
const agentState = tempDir('palisade-e2e-agent-');

type Ocsf = Record<string, any>;

const ECHO = realpathSync('/bin/echo');

/**
 * echoEvents searches like a user would and keeps the events of /bin/echo: the search's own CLI
 * process carries the marker in its command line too, and is (rightly) recorded as well.
 */
async function echoEvents(dataDir: string, text: string): Promise<Ocsf[]> {
  const r = await runCli([
    'events',
    'search',
    '--class',
    'process',
    '--contains',
    text,
    '--json',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Ocsf[]).filter((e) => e.process?.path === ECHO);
}

function run(cmd: string, args: string[], cwd: string): Promise<{ pid: number; code: number | null }> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { cwd, stdio: 'ignore' });
    c.on('error', rej);
    c.on('exit', (code) => res({ pid: c.pid!, code }));
  });
}

before(async () => {
  server = await startServerProcess();
  agent = startAgentProcess(server, agentState, ['--tier', 'workstation']);
  await waitFor(
    'the agent to connect',
    async () => {
      const r = await runCli(['agents', 'list', '--json', '--data-dir', server.dataDir]);
      if (r.code !== 0) return undefined;
      const agents = JSON.parse(r.stdout) as Ocsf[];
      return agents.find((a) => a.connection?.state === 'connected' || a.connection?.connected === true);
    },
    60_000,
  ).catch((err) => {
    throw new Error(`${err.message}\n--- agent ---\n${agent.output()}\n--- server ---\n${server.output()}`);
  });
});

after(async () => {
  await agent?.stop();
  await server?.stop();
  removeTempDir(agentState);
});

test('an exec on the host appears in `palisade events search` with argv, exe, cwd, pid, ppid and uid (root)', async () => {
  const marker = `palisade-${randomBytes(6).toString('hex')}`;
  const cwd = tempDir('palisade-e2e-cwd-');
  try {
    const started = Date.now();
    const { pid, code } = await run('/bin/echo', [marker], cwd);
    assert.equal(code, 0);
    const launch = await waitFor(
      'the exec event',
      async () => (await echoEvents(server.dataDir, marker)).find((e) => e.activity_id === 1),
      15_000,
    );
    const seenAfterMs = Date.now() - started;
    assert.ok(seenAfterMs < 5_000, `exec visible after ${seenAfterMs} ms, promised within 5 s`);
    const p = launch.process;
    assert.equal(p.pid, pid);
    assert.equal(p.parent_process.pid, process.pid);
    assert.equal(p.path, ECHO);
    assert.equal(p.working_directory, cwd);
    assert.equal(p.cmd_line, `/bin/echo ${marker}`);
    assert.deepEqual(launch.unmapped['process.argv'], ['/bin/echo', marker]);
    assert.equal(p.user.uid, '0');
    assert.equal(launch.class_uid, 1007);
    assert.equal(launch.type_uid, 100701);
    assert.deepEqual(new OcsfValidator().validate(launch), []);

    // The agent runs the workstation tier here, which reports terminations too.
    const exit = await waitFor(
      'the exit event',
      async () => (await echoEvents(server.dataDir, marker)).find((e) => e.activity_id === 2),
      15_000,
    );
    assert.equal(exit.exit_code, 0);
    assert.equal(exit.process.pid, pid);
    assert.equal(exit.process.uid, p.uid, 'launch and exit carry the same process unique id');
  } finally {
    removeTempDir(cwd);
  }
});

test('the agent does not report its own activity', async () => {
  const r = await runCli([
    'events',
    'search',
    '--class',
    'process',
    '--contains',
    agentState,
    '--json',
    '--data-dir',
    server.dataDir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const own = (JSON.parse(r.stdout) as Ocsf[]).filter((e) => e.process?.pid === agent.child.pid);
  assert.deepEqual(own, []);
});

test('events captured while the server is down survive an agent restart and arrive once (root)', async () => {
  const marker = `palisade-outage-${randomBytes(6).toString('hex')}`;
  const ports = portsOf(server);
  await server.stop();
  for (let i = 0; i < 20; i++) await run('/bin/echo', [marker, String(i)], '/');
  // Give the agent time to spool, then restart it while the server is still down.
  await new Promise((r) => setTimeout(r, 1500));
  await agent.stop();
  server = await startServerProcess(server.dataDir, ports);
  agent = startAgentProcess(server, agentState, ['--tier', 'workstation']);
  const found = await waitFor(
    'all 20 spooled execs',
    async () => {
      const events = (await echoEvents(server.dataDir, marker)).filter((e) => e.activity_id === 1);
      return events.length >= 20 ? events : undefined;
    },
    60_000,
  );
  const args = found
    .map((e) => e.unmapped['process.argv'][2])
    .sort((a: string, b: string) => Number(a) - Number(b));
  assert.deepEqual(
    args,
    Array.from({ length: 20 }, (_, i) => String(i)),
    'each exec exactly once',
  );
});
