import type { ListenerLimits } from './listener-limits.js';

/**
 * LIMIT_SETTINGS are the `palisade server` flags and config-file keys that set ListenerLimits:
 * timeouts in seconds (the limits hold ms), counts as they are.
 */
export const LIMIT_SETTINGS: Record<string, { limit: keyof ListenerLimits; kind: 'seconds' | 'count' }> = {
  'handshake-timeout': { limit: 'handshakeTimeoutMs', kind: 'seconds' },
  'header-timeout': { limit: 'headersTimeoutMs', kind: 'seconds' },
  'request-timeout': { limit: 'requestTimeoutMs', kind: 'seconds' },
  'idle-timeout': { limit: 'idleTimeoutMs', kind: 'seconds' },
  'keep-alive-timeout': { limit: 'keepAliveTimeoutMs', kind: 'seconds' },
  'hello-timeout': { limit: 'helloTimeoutMs', kind: 'seconds' },
  'max-connections': { limit: 'maxConnections', kind: 'count' },
  'max-unauthenticated': { limit: 'maxUnauthenticated', kind: 'count' },
  'max-unauthenticated-per-address': { limit: 'maxUnauthenticatedPerAddress', kind: 'count' },
  'registration-max-connections': { limit: 'registrationMaxConnections', kind: 'count' },
  'registration-max-unauthenticated': { limit: 'registrationMaxUnauthenticated', kind: 'count' },
  'registration-burst': { limit: 'registrationBurst', kind: 'count' },
  'registration-per-minute': { limit: 'registrationPerMinute', kind: 'count' },
};

/** limitValue checks one limit setting; it returns the value for ListenerLimits, or why it is wrong. */
export function limitValue(key: string, raw: unknown): number | string {
  const spec = LIMIT_SETTINGS[key]!;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  const max = spec.kind === 'seconds' ? 3600 : 1_000_000;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    return `${key} must be a whole number${spec.kind === 'seconds' ? ' of seconds' : ''} from 1 to ${max}, got ${JSON.stringify(raw)}`;
  }
  return spec.kind === 'seconds' ? n * 1000 : n;
}
