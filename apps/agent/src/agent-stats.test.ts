import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tier } from '@palisade/protocol';
import { buildSensorStats, collectCapabilities } from './agent-stats.js';
import type { Sensor } from './sensors/sensor.js';
import type { SpoolStats } from './spool/index.js';
import { TestSensor } from './test-sensor.test-util.js';

const spool: SpoolStats = {
  pendingEvents: 3,
  unackedEvents: 40,
  unackedBatches: 2,
  bytes: 1000,
  oldestUnsentMs: 1_700_000_000_123,
  lastSeq: 9,
  ackedSeq: 7,
  drops: { events: 25, batches: 2, byClass: { 1007: 20, 3002: 5 }, firstTimeMs: 10, lastTimeMs: 20 },
  corruptRecords: 1,
  tornTails: 0,
};

test('heartbeat stats sum the sensors and carry the spool depth and the exact drop report', () => {
  const a = new TestSensor();
  const b = new TestSensor();
  const broken: Sensor = {
    ...new TestSensor(),
    name: 'broken',
    start: async () => {},
    stop: async () => {},
    setTier: (_t: Tier) => {},
    capabilities: () => {
      throw new Error('boom');
    },
    counters: () => {
      throw new Error('boom');
    },
  };
  const s = buildSensorStats([a, b, broken], spool);
  assert.equal(s.spoolDepth, 43n);
  assert.equal(s.oldestUnsentMs, 1_700_000_000_123n);
  assert.equal(s.spoolDrops, 25n);
  assert.deepEqual(s.spoolDropsByClass, { 1007: 20n, 3002: 5n });
  assert.equal(s.spoolDropFirstMs, 10n);
  assert.equal(s.spoolDropLastMs, 20n);
  assert.equal(s.spoolCorruptRecords, 1n);
  assert.equal(s.eventsEmitted, 0n);
  assert.equal(collectCapabilities([a, broken, b]).length, 2, 'a broken sensor does not hide the others');
});
