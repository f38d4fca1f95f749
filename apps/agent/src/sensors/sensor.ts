import type { Capability, Event, Tier } from '@palisade/protocol';

/** EventSink receives events from a sensor. It never blocks: the agent spools them. */
export type EventSink = (event: Event) => void;

/** SensorCounters are the numbers a sensor reports with heartbeats. */
export interface SensorCounters {
  eventsEmitted: number;
  /** Events lost before they reached the agent (kernel ring buffer full, ...). */
  drops: number;
  /** Times the sensor's helper process was restarted after a crash. */
  restarts: number;
  /** Of `drops`, the exec, privilege and injection records (their own reserved ring buffer). */
  priorityDrops?: number;
  /** Noisy records (file, network) a per-process rate limit held back, counted not sent. */
  suppressed?: number;
  /** "ok", or "degraded: why" while the sensor is losing events (sustained drops). */
  health?: string;
}

/**
 * Sensor is one source of telemetry (the eBPF helper, the auth log reader, ...). The agent starts
 * every sensor, passes it a sink, and asks it for its capabilities and counters.
 */
export interface Sensor {
  readonly name: string;
  /** Starts collecting. Must not throw for an unavailable source: report it in capabilities(). */
  start(sink: EventSink): Promise<void>;
  stop(): Promise<void>;
  /** Which telemetry kinds this sensor provides right now, and if not, why not. */
  capabilities(): Capability[];
  counters(): SensorCounters;
  /** Applies a telemetry tier without a restart. */
  setTier(tier: Tier): void;
}
