import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogLimiter, truncateForLog } from './log-limit.js';
import { TokenBuckets } from './token-buckets.js';

test('TokenBuckets: a burst, then the rate; Retry-After is the wait for the next token; keys are bounded', () => {
  let now = 0;
  const b = new TokenBuckets({ burst: 3, perSecond: 0.5, maxKeys: 2, now: () => now });
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a')], [0, 0, 0]);
  assert.equal(b.take('a'), 2000, 'one token every 2 s');
  now += 1500;
  assert.equal(b.take('a'), 500);
  now += 500;
  assert.equal(b.take('a'), 0);
  assert.equal(b.take('b'), 0, 'another key has its own bucket');
  b.take('c');
  assert.equal(b.size, 2, 'the least recently used key was forgotten');
});

test('LogLimiter: lets a burst through, drops the rest, and reports how many it dropped', () => {
  let now = 0;
  const l = new LogLimiter({ burst: 2, perSecond: 1, now: () => now });
  assert.equal(l.take('peer'), 0);
  assert.equal(l.take('peer'), 0);
  for (let i = 0; i < 5; i++) assert.equal(l.take('peer'), undefined);
  assert.equal(l.take('other'), 0, 'keys are limited apart');
  now += 1000;
  assert.equal(l.take('peer'), 5, 'the next line let through carries the count');
  assert.equal(l.take('peer'), undefined);
  now += 1000;
  assert.equal(l.take('peer'), 1);
});

test('truncateForLog cuts long values and says how long they were', () => {
  assert.equal(truncateForLog('short', 10), 'short');
  assert.equal(truncateForLog('x'.repeat(50), 10), `${'x'.repeat(10)}... (50 chars)`);
  assert.equal(truncateForLog({ a: 'b' }, 10), '{"a":"b"}');
});
