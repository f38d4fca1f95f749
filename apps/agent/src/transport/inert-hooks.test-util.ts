// Test-only: session hooks for an agent with no sensors, no stats and no policy to apply.
import { create, SensorStatsSchema } from '@palisade/protocol';
import type { SessionHooks } from './telemetry-session.js';

/** inertHooks returns fresh hooks that report nothing and ignore policies. */
export function inertHooks(): SessionHooks {
  return {
    capabilities: () => [],
    stats: () => create(SensorStatsSchema, {}),
    policyRevision: () => 0n,
    onPolicy: () => {},
  };
}
