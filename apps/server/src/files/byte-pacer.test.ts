import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BytePacer } from './byte-pacer.js';

test('BytePacer: one second of budget, then waits in proportion to the rate', () => {
  let now = 0;
  const p = new BytePacer(1000, () => now);
  assert.equal(p.reserve(1000), 0);
  assert.equal(p.reserve(500), 500);
  now += 2000; // refills to at most one second's worth
  assert.equal(p.reserve(1000), 0);
  assert.equal(p.reserve(1), 1);
  assert.equal(new BytePacer(0).reserve(1e12), 0);
});
