// kill -9 of a real server process mid-ingest (the agent keeps streaming): after the server is
// restarted on the same data directory and ports, the agent catches up and every event is
// stored exactly once.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { startAgent } from './agent.js';
import { tempDir, waitFor } from './agent-harness.test-util.js';
import { TestSensor } from './test-sensor.test-util.js';

const agentDir = fileURLToPath(new URL('..', import.meta.url));
// A fixed program (no input in it): run `palisade server` from @palisade/server with argv flags.
const SERVER_MAIN = "import('@palisade/server').then((m) => m.runServerCommand(process.argv.slice(1)))";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function serverProcess(dataDir: string, reg: number, tel: number): ChildProcess {
  return spawn(
    process.execPath,
    [
      // CommonJS -e with a dynamic import: --input-type would be inherited by the storage worker thread.
      '-e',
      SERVER_MAIN,
      '--',
      '--data-dir',
      dataDir,
      '--registration-port',
      String(reg),
      '--telemetry-port',
      String(tel),
      '--log-level',
      'warn',
    ],
    { cwd: agentDir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

test('kill -9 of the server mid-ingest: after its restart every event is stored exactly once', async (t) => {
  const dataDir = tempDir('palisade-srvkill-');
  const [reg, tel] = [await freePort(), await freePort()];
  let srv = serverProcess(dataDir, reg, tel);
  t.after(() => srv.kill('SIGKILL'));
  await waitFor(
    'the server to write its CA and key',
    () => existsSync(join(dataDir, 'registration-key')),
    30_000,
  );
  const caPem = await waitFor('the CA', () => {
    const f = join(dataDir, 'tls', 'ca.pem');
    return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
  });
  const sensor = new TestSensor();
  const agent = await waitFor(
    'registration',
    () =>
      startAgent({
        stateDir: tempDir('palisade-srvkill-agent-'),
        serverUrl: `https://127.0.0.1:${reg}`,
        registrationKey: readFileSync(join(dataDir, 'registration-key'), 'utf8').trim(),
        caPem,
        sensors: [sensor],
        spool: { batchIntervalMs: 20, batchMaxEvents: 500 },
        ackTimeoutMs: 3000,
      }),
    30_000,
  );
  t.after(() => agent.stop());
  const total = 50_000;
  const allEmitted = sensor.emitPaced(t, 'srvkill', total, 500);
  await waitFor('a third acked', () => agent.spoolStats().ackedSeq >= total / 500 / 3, 60_000);
  srv.kill('SIGKILL');
  await new Promise((r) => srv.once('exit', r));
  const ackedAtKill = agent.spoolStats().ackedSeq;
  srv = serverProcess(dataDir, reg, tel);
  await waitFor(
    'everything emitted and acked',
    () => allEmitted() && agent.spoolStats().unackedEvents === 0 && agent.spoolStats().pendingEvents === 0,
    90_000,
  );
  await agent.stop();
  srv.kill('SIGTERM');
  await new Promise((r) => srv.once('exit', r));
  const storage = await openSqliteStorage({ path: join(dataDir, 'palisade.db'), writerThread: false });
  t.after(() => storage.close());
  const seen = new Map<string, number>();
  let cursor: string | undefined;
  for (let p = 0; p < 200; p++) {
    const page = await storage.searchEvents({
      agentId: agent.agentId,
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const e of page.events) {
      const l = e.event.process?.cmdLine ?? '';
      seen.set(l, (seen.get(l) ?? 0) + 1);
    }
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  assert.ok(ackedAtKill > 0);
  assert.equal(seen.size, total, 'every event stored');
  assert.deepEqual(
    [...seen].filter(([, c]) => c !== 1),
    [],
    'none stored twice',
  );
});
