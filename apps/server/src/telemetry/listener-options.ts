import { resolveLimits } from '../limits/listener-limits.js';
import type { ServerOptions } from '../options.js';
import type { TelemetryServiceOptions } from './service.js';

/** ListenerBase is what every telemetry listener of one process shares. */
export type ListenerBase = Pick<
  TelemetryServiceOptions,
  'host' | 'tls' | 'storage' | 'sessions' | 'clock' | 'logger' | 'heartbeatIntervalS' | 'trusted' | 'response'
>;

/**
 * telemetryOptions builds the options of a telemetry listener (primary or standby) from the
 * server options, so both listeners get the same ingest, liveness and connection limits. The caller adds
 * `port` and, for the standby, `channel`.
 */
export function telemetryOptions(
  opts: ServerOptions,
  base: ListenerBase,
): Omit<TelemetryServiceOptions, 'port'> {
  return {
    ...base,
    limits: resolveLimits(opts.limits),
    ...(opts.ingest ? { writer: opts.ingest } : {}),
    ...(opts.ingest?.maxInFlight !== undefined ? { maxInFlight: opts.ingest.maxInFlight } : {}),
    ...(opts.livenessIntervalMs ? { livenessIntervalMs: opts.livenessIntervalMs } : {}),
    ...(opts.heartbeatFlushMs !== undefined ? { heartbeatFlushMs: opts.heartbeatFlushMs } : {}),
  };
}

/** DEFAULT_STANDBY_PORT is where the standby telemetry listener listens by default. */
export const DEFAULT_STANDBY_PORT = 7445;

/**
 * defaultStandbyPort is the standby port to bind: the configured one, else 7445 when the primary
 * telemetry port is left at its default, else a free port. A server whose primary port was chosen
 * by hand (tests, several servers on one host) must not collide on a fixed 7445.
 */
export function defaultStandbyPort(opts: Pick<ServerOptions, 'standbyPort' | 'telemetryPort'>): number {
  if (opts.standbyPort !== undefined) return opts.standbyPort;
  return opts.telemetryPort === undefined || opts.telemetryPort === 7444 ? DEFAULT_STANDBY_PORT : 0;
}
