/**
 * The eBPF kernel sensor: process, network (TCP + DNS) and file-modification telemetry from the
 * libbpf helper in apps/agent/sensor-bpf, enriched with a bounded process cache.
 */
export {
  type BpfSensor,
  type BpfSensorOptions,
  type BpfSensorStats,
  createBpfSensor,
} from './bpf-sensor.linux.js';
export { DEFAULT_IGNORE_PATH_PREFIXES } from './paths.js';
