// kill -9 of a real agent process in the middle of streaming, against the real server: after a
// restart on the same state directory every event that was spooled arrives, exactly once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer } from '@palisade/server';
import { startAgent } from './agent.js';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from './agent-harness.test-util.js';

const fixture = fileURLToPath(new URL('./agent-stream.fixture.js', import.meta.url));

test('kill -9 of the agent mid-stream loses no spooled event and stores none twice', async (t) => {
  const srv = await startServer({
    dataDir: tempDir('palisade-agent-kill-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
    heartbeatFlushMs: 100,
  });
  t.after(() => srv.close());
  const stateDir = tempDir('palisade-agent-kill-');
  const caFile = join(tempDir('palisade-agent-kill-ca-'), 'ca.pem');
  writeFileSync(caFile, srv.caPem);
  const marker = `kill9-${process.pid}`;
  const total = 50_000;
  const child = spawn(
    process.execPath,
    [fixture, stateDir, srv.registrationUrl, caFile, readKey(srv.dataDir), marker, String(total)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => child.kill('SIGKILL'));
  const agentId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent process did not start in 20 s')), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      const m = /ready (\S+)/.exec(d.toString());
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`agent process exited with ${code}`)));
  });
  const storedAtKill = await waitFor(
    'a third of the events stored',
    async () => {
      const n = await srv.storage.countEvents(agentId);
      return n >= total / 3 ? n : undefined;
    },
    60_000,
  );
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  // Restart the agent on the same state directory (no sensor: only what was spooled is sent).
  const agent = await startAgent({ stateDir, sensors: [] });
  t.after(() => agent.stop());
  await waitFor('the spool to drain', () => agent.spoolStats().unackedEvents === 0, 60_000);
  const seen = new Map<string, number>();
  let cursor: string | undefined;
  for (let page = 0; page < 200; page++) {
    const r = await srv.storage.searchEvents({ agentId, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const e of r.events) {
      const line = e.event.process?.cmdLine ?? '';
      seen.set(line, (seen.get(line) ?? 0) + 1);
    }
    if (!r.nextCursor) break;
    cursor = r.nextCursor;
  }
  const dupes = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(dupes, [], 'no event stored twice');
  // Events are sealed in order, so what survived is a prefix: no gaps.
  const k = seen.size;
  assert.ok(k >= storedAtKill, `stored ${k} after restart, ${storedAtKill} before the kill`);
  for (let i = 0; i < k; i++) assert.ok(seen.has(`${marker}-${i}`), `event ${i} of ${k} missing`);
  assert.equal(await srv.storage.countEvents(agentId), k);
});
