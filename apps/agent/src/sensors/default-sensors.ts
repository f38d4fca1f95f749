import type { Logger } from '@palisade/common';
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
 * defaultSensors builds the sensors a production agent runs. The eBPF sensor
 * (`./bpf/index.js`, createBpfSensor) and the auth sensor (`./auth/index.js`, createAuthSensor)
 * are wired in here once their modules exist in the tree; until then the agent runs with the
 * sensors passed to it explicitly.
 */
export function defaultSensors(_opts: DefaultSensorOptions): Sensor[] {
  return [];
}
