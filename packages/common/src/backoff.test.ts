import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from './backoff.js';

test('backoff grows to its cap with jitter in the upper half', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500]);
  const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
  assert.equal(hi.next(), 100);
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), 50);
});
