// The agent in its own network namespace (root): its link to the server is cut for several
// seconds mid-stream and restored. It reconnects and every event arrives exactly once. Traffic
// stays inside the veth pair this test creates; the namespace is deleted afterwards.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer } from '@palisade/server';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from './agent-harness.test-util.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./agent-stream.fixture.js', import.meta.url));

test('link cut and restored (root, network namespace): the agent reconnects and nothing is lost', async (t) => {
  const id = process.pid % 10000;
  const ns = `pal-agent-${id}`;
  const host = `pvh${id}`;
  const peer = `pvn${id}`;
  const net = `10.231.${id % 250}`;
  await run('ip', ['netns', 'add', ns]);
  t.after(async () => {
    await run('ip', ['netns', 'del', ns]).catch(() => {});
    await run('ip', ['link', 'del', host]).catch(() => {});
  });
  await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
  await run('ip', ['link', 'set', peer, 'netns', ns]);
  await run('ip', ['addr', 'add', `${net}.1/30`, 'dev', host]);
  await run('ip', ['link', 'set', host, 'up']);
  for (const args of [
    ['addr', 'add', `${net}.2/30`, 'dev', peer],
    ['link', 'set', peer, 'up'],
    ['link', 'set', 'lo', 'up'],
  ]) {
    await run('ip', ['netns', 'exec', ns, 'ip', ...args]);
  }
  const srv = await startServer({
    dataDir: tempDir('palisade-netns-srv-'),
    host: `${net}.1`,
    publicHost: `${net}.1`,
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  t.after(() => srv.close());
  const caFile = join(tempDir('palisade-netns-ca-'), 'ca.pem');
  writeFileSync(caFile, srv.caPem);
  const total = 20_000;
  const marker = `netns-${process.pid}`;
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      fixture,
      tempDir('palisade-netns-'),
      srv.registrationUrl,
      caFile,
      readKey(srv.dataDir),
      marker,
      String(total),
      '20',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => child.kill('SIGKILL'));
  const agentId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent did not start in 20 s')), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      const m = /ready (\S+)/.exec(d.toString());
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  await waitFor('some events stored', async () => (await srv.storage.countEvents(agentId)) > 1000);
  await run('ip', ['link', 'set', host, 'down']);
  await new Promise((r) => setTimeout(r, 6000));
  const duringCut = await srv.storage.countEvents(agentId);
  await run('ip', ['link', 'set', host, 'up']);
  const n = await waitFor(
    'every event after the link came back',
    async () => {
      const c = await srv.storage.countEvents(agentId);
      return c >= total ? c : undefined;
    },
    60_000,
  );
  assert.ok(duringCut < total, 'the cut happened mid-stream');
  assert.equal(n, total);
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let p = 0; p < 100; p++) {
    const page = await srv.storage.searchEvents({ agentId, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const e of page.events) seen.add(e.event.process?.cmdLine ?? '');
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  assert.equal(seen.size, total, 'every event distinct: none lost, none doubled');
  child.kill('SIGTERM');
});
