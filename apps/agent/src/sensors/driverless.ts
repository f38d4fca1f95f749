import { type Capability, CapabilitySchema, TelemetryKind, type Tier, create } from '@palisade/protocol';
import type { EventSink, Sensor, SensorCounters } from './sensor.js';

const KERNEL_KINDS = [TelemetryKind.PROCESS, TelemetryKind.NETFLOW, TelemetryKind.FILEMOD, TelemetryKind.DNS];

/**
 * createDriverlessReport is the sensor that stands where the kernel sensor would when it was
 * turned off on purpose (--no-kernel-sensor, kernelSensor: false). It collects nothing and
 * reports every kernel telemetry kind as inactive with that reason, so the server shows why.
 */
export function createDriverlessReport(reason: string): Sensor {
  return {
    name: 'kernel-disabled',
    async start(_sink: EventSink): Promise<void> {},
    async stop(): Promise<void> {},
    capabilities(): Capability[] {
      return KERNEL_KINDS.map((kind) =>
        create(CapabilitySchema, { kind, active: false, source: 'ebpf', reason }),
      );
    },
    counters(): SensorCounters {
      return { eventsEmitted: 0, drops: 0, restarts: 0 };
    },
    setTier(_tier: Tier): void {},
  };
}
