import { join } from 'node:path';
import type { Logger } from '@palisade/common';
import { createAuthSensor } from './auth/index.js';
import type { Sensor } from './sensor.js';

/** DefaultSensorOptions are what the agent tells its built-in sensors. */
export interface DefaultSensorOptions {
  /** Pids of the agent itself, whose activity the sensors drop. */
  ownPids: number[];
  /** False forces driverless mode: the kernel sensor is not started. */
  kernelSensor: boolean;
  /** The agent's state directory (the sensors keep their own state below it). */
  stateDir: string;
  logger: Logger;
}

/**
 * defaultSensors builds the sensors a production agent runs: the auth sensor always (it needs no
 * kernel support). The eBPF sensor (`./bpf/index.js`, createBpfSensor) joins here, unless
 * kernelSensor is false, once its module is in the tree.
 */
export function defaultSensors(opts: DefaultSensorOptions): Sensor[] {
  return [createAuthSensor({ stateDir: join(opts.stateDir, 'sensors', 'auth'), logger: opts.logger })];
}
