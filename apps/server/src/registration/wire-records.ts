import {
  type Capability,
  Channel,
  type Policy,
  PolicySchema,
  type SensorStats,
  TelemetryKind,
  Tier,
  create,
} from '@palisade/protocol';
import type { CapabilityRecord, GroupPolicy } from '@palisade/storage';

/** policyToWire renders a stored group policy as the protobuf Policy agents receive. */
export function policyToWire(p: GroupPolicy): Policy {
  return create(PolicySchema, {
    revision: BigInt(p.revision),
    tier: p.tier === 'workstation' ? Tier.WORKSTATION : Tier.SERVER,
    channel: p.channel === 'beta' ? Channel.BETA : p.channel === 'preview' ? Channel.PREVIEW : Channel.STABLE,
    maintenanceWindow: p.maintenanceWindow === 'always' ? 'always' : JSON.stringify(p.maintenanceWindow),
  });
}

const MAX_CAPABILITIES = 32;
const MAX_TEXT = 512;

/** capabilitiesFromWire turns the agent's capability report into stored records (bounded). */
export function capabilitiesFromWire(caps: Capability[]): CapabilityRecord[] {
  return caps.slice(0, MAX_CAPABILITIES).map((c) => ({
    kind: (TelemetryKind[c.kind] ?? 'UNSPECIFIED').toLowerCase(),
    active: c.active,
    source: c.source.slice(0, MAX_TEXT),
    reason: c.reason.slice(0, MAX_TEXT),
  }));
}

/** statsFromWire flattens SensorStats into the numbers stored with the agent. */
export function statsFromWire(s: SensorStats): Record<string, number | string> {
  return {
    eventsEmitted: Number(s.eventsEmitted),
    ringDrops: Number(s.ringDrops),
    spoolDrops: Number(s.spoolDrops),
    spoolDepth: Number(s.spoolDepth),
    oldestUnsentMs: Number(s.oldestUnsentMs),
    sensorRestarts: s.sensorRestarts,
    // The spool drop report (which kinds, over which span) and corrupt records skipped.
    spoolDropFirstMs: Number(s.spoolDropFirstMs),
    spoolDropLastMs: Number(s.spoolDropLastMs),
    spoolDropsByClass: JSON.stringify(
      Object.fromEntries(Object.entries(s.spoolDropsByClass).map(([k, v]) => [k, Number(v)])),
    ),
    spoolCorruptRecords: Number(s.spoolCorruptRecords),
    // Kernel sensor health: reserved-ring drops, rate-limited records, sustained-drop state.
    ringDropsPriority: Number(s.ringDropsPriority),
    suppressed: Number(s.suppressed),
    sensorHealth: s.sensorHealth.slice(0, 512),
  };
}
