import { type Capability, type SensorStats, SensorStatsSchema, create } from '@palisade/protocol';
import type { Sensor } from './sensors/sensor.js';
import type { SpoolStats } from './spool/index.js';

/** collectCapabilities lists what every sensor provides (or not, and why). */
export function collectCapabilities(sensors: Sensor[]): Capability[] {
  return sensors.flatMap((s) => {
    try {
      return s.capabilities();
    } catch {
      return [];
    }
  });
}

/** buildSensorStats sums the sensors' counters and adds the spool's depth and drop report. */
export function buildSensorStats(sensors: Sensor[], spool: SpoolStats): SensorStats {
  let emitted = 0;
  let drops = 0;
  let restarts = 0;
  let priorityDrops = 0;
  let suppressed = 0;
  const unhealthy: string[] = [];
  for (const s of sensors) {
    try {
      const c = s.counters();
      emitted += c.eventsEmitted;
      drops += c.drops;
      restarts += c.restarts;
      priorityDrops += c.priorityDrops ?? 0;
      suppressed += c.suppressed ?? 0;
      if (c.health && c.health !== 'ok') unhealthy.push(`${s.name}: ${c.health}`);
    } catch {
      // a broken sensor must not stop heartbeats
    }
  }
  const byClass: { [k: number]: bigint } = {};
  for (const [cls, n] of Object.entries(spool.drops.byClass)) byClass[Number(cls)] = BigInt(n);
  return create(SensorStatsSchema, {
    eventsEmitted: BigInt(emitted),
    ringDrops: BigInt(drops),
    spoolDrops: BigInt(spool.drops.events),
    spoolDepth: BigInt(spool.pendingEvents + spool.unackedEvents),
    oldestUnsentMs: BigInt(spool.oldestUnsentMs),
    sensorRestarts: restarts,
    spoolDropFirstMs: BigInt(spool.drops.firstTimeMs),
    spoolDropLastMs: BigInt(spool.drops.lastTimeMs),
    spoolDropsByClass: byClass,
    spoolCorruptRecords: BigInt(spool.corruptRecords),
    ringDropsPriority: BigInt(priorityDrops),
    suppressed: BigInt(suppressed),
    sensorHealth: unhealthy.length ? unhealthy.join('; ') : 'ok',
  });
}
