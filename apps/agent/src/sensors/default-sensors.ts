import { join } from 'node:path';
import type { Logger } from '@palisade/common';
import type { AuthSourcesConfig, SensorTuning } from '../config/agent-config.js';
import type { Tier } from '@palisade/protocol';
import { createAuthSensor } from './auth/index.js';
import { createBpfSensor } from './bpf/index.js';
import { createDriverlessReport } from './driverless.js';
import type { Sensor } from './sensor.js';

/** DefaultSensorOptions are what the agent tells its built-in sensors. */
export interface DefaultSensorOptions {
  /** Pids of the agent itself, whose activity the sensors drop. */
  ownPids: number[];
  /** False forces driverless mode: the kernel sensor is not started. */
  kernelSensor: boolean;
  /** The agent's state directory (the sensors keep their own state below it; its files are not reported). */
  stateDir: string;
  /** The tier to start with (the agent applies policy changes later with setTier). */
  tier: Tier;
  /** Overrides of the auth sensor's sources (config file `auth:`). */
  auth?: AuthSourcesConfig;
  /** Kernel sensor tuning (config file `sensor:`). */
  tuning?: SensorTuning;
  logger: Logger;
}

/**
 * defaultSensors builds the sensors a production agent runs: the eBPF kernel sensor (process,
 * network, DNS, file modification) unless kernelSensor is false, and the auth sensor, which
 * needs no kernel support. When the kernel sensor cannot load it stays in the list and reports
 * why in its capabilities; when it is turned off, a report says so instead.
 */
export function defaultSensors(opts: DefaultSensorOptions): Sensor[] {
  const kernel = opts.kernelSensor
    ? createBpfSensor({
        ignorePids: opts.ownPids,
        ignorePathPrefixes: [opts.stateDir],
        tier: opts.tier,
        ...(opts.tuning?.udpFlowIntervalSeconds
          ? { udpFlowIntervalSeconds: opts.tuning.udpFlowIntervalSeconds }
          : {}),
        ...(opts.tuning?.hashBytesPerSecond ? { hashBytesPerSecond: opts.tuning.hashBytesPerSecond } : {}),
        ...(opts.tuning?.noisyRecordsPerSecond ? { noisyPerSecond: opts.tuning.noisyRecordsPerSecond } : {}),
        logger: opts.logger,
      })
    : createDriverlessReport('kernel sensor turned off by configuration (--no-kernel-sensor)');
  const auth = createAuthSensor({
    stateDir: join(opts.stateDir, 'sensors', 'auth'),
    ...opts.auth,
    logger: opts.logger,
  });
  return [kernel, auth];
}
