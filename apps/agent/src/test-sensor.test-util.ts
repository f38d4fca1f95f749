import type { TestContext } from 'node:test';
import {
  type Capability,
  CapabilitySchema,
  type Event,
  EventSchema,
  TelemetryKind,
  type Tier,
  create,
} from '@palisade/protocol';
import type { EventSink, Sensor, SensorCounters } from './sensors/sensor.js';

/**
 * TestSensor is a real Sensor whose events the test generates: emit() hands them to the agent's
 * sink exactly as a kernel or log sensor would. It records tier changes so tests can see them.
 */
export class TestSensor implements Sensor {
  readonly name = 'test';
  readonly tiers: Tier[] = [];
  private sink: EventSink | undefined;
  private emitted = 0;
  started = 0;
  stopped = 0;

  async start(sink: EventSink): Promise<void> {
    this.sink = sink;
    this.started++;
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    this.stopped++;
  }

  capabilities(): Capability[] {
    return [create(CapabilitySchema, { kind: TelemetryKind.PROCESS, active: true, source: 'test' })];
  }

  counters(): SensorCounters {
    return { eventsEmitted: this.emitted, drops: 0, restarts: 0 };
  }

  setTier(tier: Tier): void {
    this.tiers.push(tier);
  }

  /**
   * emitPaced emits `total` events in chunks of `chunk` every 10 ms, as a busy host would, and
   * stops by itself; the timer is cleared after the test. Returns whether all were emitted yet.
   */
  emitPaced(t: TestContext, marker: string, total: number, chunk: number): () => boolean {
    let n = 0;
    const timer = setInterval(() => {
      const k = Math.min(chunk, total - n);
      this.emit(marker, k, n);
      n += k;
      if (n >= total) clearInterval(timer);
    }, 10);
    t.after(() => clearInterval(timer));
    return () => n >= total;
  }

  /** emit sends `count` process events whose command lines are `${marker}-${i}`. */
  emit(marker: string, count: number, from = 0): void {
    if (!this.sink) throw new Error('sensor not started');
    for (let i = from; i < from + count; i++) {
      const ev: Event = create(EventSchema, {
        classUid: 1007,
        activityId: 1,
        severityId: 1,
        timeMs: BigInt(Date.now()),
        process: {
          pid: 4000 + (i % 1000),
          path: '/bin/echo',
          cmdLine: `${marker}-${i}`,
          argv: ['/bin/echo', `${marker}-${i}`],
        },
      });
      this.sink(ev);
      this.emitted++;
    }
  }
}
