// `palisade agent status` against a real agent process and a real server: the agent keeps a
// root-only status file, the command prints it as a table and as JSON, and says when it is stale.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer } from '@palisade/server';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from '../agent-harness.test-util.js';
import { STATUS_FILE } from './status-file.js';
import { formatStatus, staleness } from './status-command.js';

const fixture = fileURLToPath(new URL('../main.fixture.js', import.meta.url));

function status(stateDir: string, json: boolean) {
  const r = spawnSync(
    process.execPath,
    [fixture, 'status', '--state-dir', stateDir, ...(json ? ['--json'] : [])],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('a running agent keeps a 0600 status file; status prints it as a table and as JSON, exit 3 once it stopped', async (t) => {
  const srv = await startServer({
    dataDir: tempDir('palisade-status-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  t.after(() => srv.close());
  const dir = tempDir('palisade-status-');
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, srv.caPem);
  const stateDir = join(dir, 'state');
  let out = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [fixture, '--server', srv.registrationUrl, '--ca', ca, '--state-dir', stateDir, '--no-kernel-sensor'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PALISADE_REGISTRATION_KEY: readKey(srv.dataDir) },
    },
  );
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.after(() => child.kill('SIGKILL'));
  const s = await waitFor('a connected status', () => {
    if (child.exitCode !== null) throw new Error(`agent exited: ${out}`);
    const r = status(stateDir, true);
    if (r.code !== 0) return false;
    const j = JSON.parse(r.out);
    return j.connection === 'primary' ? j : false;
  });
  assert.equal(statSync(join(stateDir, STATUS_FILE)).mode & 0o777, 0o600);
  assert.equal(s.state, 'running');
  assert.equal(s.stale, null);
  assert.equal(s.pid, child.pid);
  assert.equal(s.agentId, (await srv.storage.listAgents())[0]?.id);
  assert.ok(s.rssBytes > 10 * 1024 * 1024, `rss ${s.rssBytes}`);
  assert.ok(s.cpu.userSeconds > 0);
  assert.equal(typeof s.spool.unackedBatches, 'number');
  assert.ok(
    s.sensors.some((x: { name: string }) => x.name === 'auth'),
    JSON.stringify(s.sensors),
  );
  const table = status(stateDir, false);
  assert.equal(table.code, 0);
  assert.match(table.out, /^state\s+running$/m);
  assert.match(table.out, /^connection\s+primary$/m);
  assert.match(table.out, /^spool depth\s+\d+ events in \d+ batches$/m);
  assert.match(table.out, /^sensor\s+events\s+drops\s+restarts$/m);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  const stopped = status(stateDir, true);
  assert.equal(stopped.code, 3);
  assert.equal(JSON.parse(stopped.out).state, 'stopped');
  // No status file: a clear error, exit 1.
  const none = status(join(dir, 'nowhere'), false);
  assert.equal(none.code, 1);
  assert.match(none.err, /status\.json does not exist: the agent has not run with this state directory/);
});

test('a status not refreshed for three intervals is called stale, naming the pid', () => {
  const base = {
    version: 1 as const,
    state: 'running' as const,
    updatedAt: 1_000_000,
    intervalMs: 5000,
    pid: 4242,
    agentId: 'a',
    startedAt: 900_000,
    connection: 'disconnected',
    tier: 'server',
    policyRevision: '3',
    cpu: { userSeconds: 1, systemSeconds: 0.5, percent: 0.4 },
    rssBytes: 50 * 1024 * 1024,
    spool: {
      pendingEvents: 1,
      unackedEvents: 10,
      unackedBatches: 2,
      bytes: 4096,
      oldestUnsentMs: 0,
      droppedEvents: 0,
      droppedBatches: 0,
      corruptRecords: 0,
    },
    sensors: [{ name: 'auth', eventsEmitted: 5, drops: 0, restarts: 0 }],
  };
  assert.equal(staleness(base, 1_010_000), '');
  assert.match(staleness(base, 1_016_000), /16 s old: the agent \(pid 4242\) is not running or is stuck/);
  assert.match(formatStatus(base, 1_016_000), /^state\s+running \(STALE: /m);
  assert.match(formatStatus(base, 1_001_000), /^spool depth\s+11 events in 2 batches$/m);
});
