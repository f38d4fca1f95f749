import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { LIMIT_SETTINGS, limitValue } from './limits/limit-settings.js';
import type { ServerOptions } from './options.js';

/** ServerConfigError says what is wrong with the server's flags or config file. */
export class ServerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerConfigError';
  }
}

type Kind = 'string' | 'port' | 'seconds' | 'days' | 'boolean' | 'count';

/** CONFIG_KEYS are the keys a server config file may hold (same names as the flags) and the option each sets. */
export const CONFIG_KEYS: Record<string, { option: keyof ServerOptions; kind: Kind }> = {
  'data-dir': { option: 'dataDir', kind: 'string' },
  host: { option: 'host', kind: 'string' },
  'registration-port': { option: 'registrationPort', kind: 'port' },
  'telemetry-port': { option: 'telemetryPort', kind: 'port' },
  'public-host': { option: 'publicHost', kind: 'string' },
  'log-level': { option: 'logLevel', kind: 'string' },
  'tls-cert': { option: 'tlsCertFile', kind: 'string' },
  'tls-key': { option: 'tlsKeyFile', kind: 'string' },
  'ca-cert': { option: 'caCertFile', kind: 'string' },
  'heartbeat-interval': { option: 'heartbeatIntervalS', kind: 'seconds' },
  'standby-port': { option: 'standbyPort', kind: 'port' },
  'standby-url': { option: 'standbyUrl', kind: 'string' },
  'standby-only': { option: 'standbyOnly', kind: 'boolean' },
  'files-port': { option: 'filesPort', kind: 'port' },
  'command-expiry-days': { option: 'commandExpiryMs', kind: 'days' },
  'playbook-isolations-per-hour': { option: 'playbookIsolationsPerHour', kind: 'count' },
};

/** convertValue checks one setting and converts it to the option's type. */
export function convertValue(where: string, key: string, raw: unknown): string | number | boolean {
  const spec = CONFIG_KEYS[key];
  if (!spec) {
    throw new ServerConfigError(
      `${where}: unknown setting "${key}" (known: ${[...Object.keys(CONFIG_KEYS), ...Object.keys(LIMIT_SETTINGS)].join(', ')})`,
    );
  }
  if (spec.kind === 'boolean') {
    if (raw === true || raw === 'true') return true;
    if (raw === false || raw === 'false') return false;
    throw new ServerConfigError(`${where}: ${key} must be true or false, got ${JSON.stringify(raw)}`);
  }
  if (spec.kind === 'string') {
    if (typeof raw !== 'string' || raw === '')
      throw new ServerConfigError(`${where}: ${key} must be a non-empty string`);
    return raw;
  }
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  const max =
    spec.kind === 'port' ? 65535 : spec.kind === 'days' ? 365 : spec.kind === 'count' ? 10_000 : 3600;
  const min = spec.kind === 'port' || spec.kind === 'count' ? 0 : 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ServerConfigError(
      `${where}: ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return spec.kind === 'days' ? n * 86_400_000 : n;
}

/** loadConfigFile reads a YAML config file into server options, refusing unknown keys and bad values. */
export function loadConfigFile(path: string): Partial<ServerOptions> {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ServerConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ServerConfigError(`config file ${path}: must be a mapping of settings`);
  }
  const out: Partial<ServerOptions> = {};
  for (const [k, v] of Object.entries(doc)) applySetting(out, `config file ${path}`, k, v);
  return out;
}

/**
 * applySetting checks one setting (a flag or a config-file key) and puts it into `opts`: a
 * listener limit (LIMIT_SETTINGS) into `opts.limits`, anything else into its option.
 */
export function applySetting(opts: Partial<ServerOptions>, where: string, key: string, raw: unknown): void {
  if (Object.hasOwn(LIMIT_SETTINGS, key)) {
    const v = limitValue(key, raw);
    if (typeof v === 'string') throw new ServerConfigError(`${where}: ${v}`);
    opts.limits = { ...opts.limits, [LIMIT_SETTINGS[key]!.limit]: v };
    return;
  }
  (opts as Record<string, unknown>)[CONFIG_KEYS[key]?.option ?? key] = convertValue(where, key, raw);
}
