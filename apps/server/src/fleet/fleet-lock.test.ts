import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FleetLock } from './fleet-lock.js';

test('FleetLock runs changes one at a time in call order, and a failure does not block the next', async () => {
  const lock = new FleetLock();
  const log: string[] = [];
  const step = (name: string, ms: number, fail = false) =>
    lock.run(async () => {
      log.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}:end`);
      if (fail) throw new Error(`${name} failed`);
      return name;
    });
  const results = await Promise.allSettled([step('a', 30), step('b', 5, true), step('c', 1)]);
  assert.deepEqual(log, ['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    ['a', 'b failed', 'c'],
  );
});
