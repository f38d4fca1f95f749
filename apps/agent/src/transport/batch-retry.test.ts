// A batch the server cannot store is refused with an ErrorFrame: the agent keeps it spooled and
// sends it again with backoff until it is stored. Real server, real SQLite underneath; the first
// storeBatches calls fail as a full disk would.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Storage } from '@palisade/storage';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { startServer } from '@palisade/server';
import { startAgent } from '../agent.js';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from '../agent-harness.test-util.js';
import { TestSensor } from '../test-sensor.test-util.js';

function failingFirst(real: Storage, failures: { left: number }): Storage {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'storeBatches' && failures.left > 0) {
        return async () => {
          failures.left--;
          throw new Error('SQLITE_FULL: database or disk is full');
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** retryRig starts a real server over `failingFirst` storage and one agent with a TestSensor. */
async function retryRig(t: TestContext) {
  const dataDir = tempDir('palisade-retry-srv-');
  const real = await openSqliteStorage({ path: join(dataDir, 'palisade.db') });
  const failures = { left: 0 };
  const srv = await startServer({
    dataDir,
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
    storage: failingFirst(real, failures),
  });
  t.after(async () => {
    await srv.close();
    await real.close();
  });
  const sensor = new TestSensor();
  const agent = await startAgent({
    stateDir: tempDir('palisade-retry-'),
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(dataDir),
    caPem: srv.caPem,
    sensors: [sensor],
    spool: { batchIntervalMs: 20 },
  });
  t.after(() => agent.stop());
  await waitFor('the session', () => agent.channel() === 'primary');
  return { real, failures, sensor, agent };
}

test('a batch refused with an ErrorFrame stays spooled and is stored exactly once on retry', async (t) => {
  const { real, failures, sensor, agent } = await retryRig(t);
  failures.left = 2;
  sensor.emit('retry', 10);
  await waitFor(
    'the refused batch to be stored on retry',
    () => agent.spoolStats().unackedEvents === 0 && failures.left === 0,
    30_000,
  );
  assert.equal(failures.left, 0, 'the server did refuse the batch twice');
  assert.equal(await real.countEvents(agent.agentId), 10);
  assert.equal(agent.spoolStats().drops.events, 0);
});

test('a burst of refusals backs off once per round of retries, not once per refused batch', async (t) => {
  const { real, failures, sensor, agent } = await retryRig(t);
  // A short storage outage: a dozen batches are refused, some of them more than once.
  failures.left = 12;
  for (let i = 0; i < 12; i++) {
    sensor.emit(`burst${i}`, 5);
    await new Promise((r) => setTimeout(r, 60));
  }
  // Backing off per refused batch would push the oldest batch to the 30 s cap; per round it is
  // retried after 0.5, 1, 2, 4 … s, so all are stored well before the cap.
  await waitFor(
    'every refused batch stored',
    () =>
      failures.left === 0 && agent.spoolStats().unackedEvents === 0 && agent.spoolStats().pendingEvents === 0,
    20_000,
  );
  assert.equal(await real.countEvents(agent.agentId), 60);
});
