import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { TierName } from '../policy/policy-state.js';

/** AgentConfig is the agent's YAML configuration file. Every key is optional. */
export interface AgentConfig {
  server?: string;
  registrationKey?: string;
  /** A file holding the registration key (kept out of the config file itself). */
  registrationKeyFile?: string;
  ca?: string;
  stateDir?: string;
  tier?: TierName;
  kernelSensor?: boolean;
  logLevel?: string;
  spool?: {
    maxBytes?: number;
    maxAgeDays?: number;
  };
  /** Where the auth sensor reads from; defaults to the distribution's usual files. */
  auth?: AuthSourcesConfig;
  /** Kernel sensor tuning (docs/fleet.md, "What each tier collects"). */
  sensor?: SensorTuning;
  /** Host isolation tuning (docs/response.md). */
  isolation?: {
    /** How long the backend may take to answer through new isolation rules before they are reverted. @default 30 */
    selfTestTimeoutSeconds?: number;
    /** How often backend host names are resolved again while isolated. @default 60 */
    resolveIntervalSeconds?: number;
  };
}

/** SensorTuning tunes the kernel sensor. */
export interface SensorTuning {
  /** A UDP flow reports its traffic at most once per this many seconds (1..3600). @default 60 */
  udpFlowIntervalSeconds?: number;
  /** Bytes of executables hashed per second at most (SHA-256 of each exec's file). @default 33554432 */
  hashBytesPerSecond?: number;
  /** File and network records per process and second; more are suppressed in the kernel and counted. @default 2000 */
  noisyRecordsPerSecond?: number;
}

const SENSOR_KEYS = ['udpFlowIntervalSeconds', 'hashBytesPerSecond', 'noisyRecordsPerSecond'];

/** AuthSourcesConfig overrides the auth sensor's sources. `null` turns a source off. */
export interface AuthSourcesConfig {
  /** Syslog files with authentication records. @default ['/var/log/auth.log', '/var/log/secure'] */
  logPaths?: string[];
  /** @default '/var/log/wtmp' */
  wtmpPath?: string | null;
  /** @default '/var/log/btmp' */
  btmpPath?: string | null;
  /** @default '/var/log/audit/audit.log' */
  auditLogPath?: string | null;
  /** A journal directory to read when no auth log file exists; unset: the system journal. */
  journalDirectory?: string | null;
  /**
   * Executables trusted to be each authentication program when a journal record speaks for it,
   * e.g. `{ sshd: [/opt/openssh/sbin/sshd] }`; a program given replaces its default list
   * (DEFAULT_TRUSTED_PROGRAMS in sensors/auth/trusted-programs.ts), the others keep theirs.
   */
  trustedPrograms?: Record<string, string[]>;
}

/** ConfigError names the file and the key that is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const STRING_KEYS = ['server', 'registrationKey', 'registrationKeyFile', 'ca', 'stateDir'] as const;
const TOP_KEYS = [...STRING_KEYS, 'tier', 'kernelSensor', 'logLevel', 'spool', 'auth', 'isolation', 'sensor'];
const SPOOL_KEYS = ['maxBytes', 'maxAgeDays'];
const ISOLATION_KEYS = ['selfTestTimeoutSeconds', 'resolveIntervalSeconds'];
const AUTH_PATH_KEYS = ['wtmpPath', 'btmpPath', 'auditLogPath', 'journalDirectory'];

const PROGRAM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function validateTrustedPrograms(v: unknown, source: string): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConfigError(
      `${source}: "auth.trustedPrograms" must be a mapping of program names to lists of paths`,
    );
  for (const [name, paths] of Object.entries(v)) {
    if (!PROGRAM_NAME.test(name))
      throw new ConfigError(`${source}: "auth.trustedPrograms": "${name}" is not a program name`);
    if (
      !Array.isArray(paths) ||
      paths.some((p) => typeof p !== 'string' || !p.startsWith('/') || p.includes('\0') || p.length > 4096)
    )
      throw new ConfigError(
        `${source}: "auth.trustedPrograms.${name}" must be a list of absolute paths of executables`,
      );
  }
}

function validateAuth(a: unknown, source: string): void {
  if (typeof a !== 'object' || a === null || Array.isArray(a))
    throw new ConfigError(`${source}: "auth" must be a mapping`);
  const o = a as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k === 'logPaths') {
      const v = o[k];
      if (!Array.isArray(v) || v.some((p) => typeof p !== 'string' || !p.startsWith('/')))
        throw new ConfigError(`${source}: "auth.logPaths" must be a list of absolute paths`);
    } else if (k === 'trustedPrograms') {
      validateTrustedPrograms(o[k], source);
    } else if (AUTH_PATH_KEYS.includes(k)) {
      const v = o[k];
      if (v !== null && (typeof v !== 'string' || !v.startsWith('/')))
        throw new ConfigError(`${source}: "auth.${k}" must be an absolute path or null`);
    } else {
      throw new ConfigError(
        `${source}: unknown key "auth.${k}" (known: logPaths, ${AUTH_PATH_KEYS.join(', ')}, trustedPrograms)`,
      );
    }
  }
}

/** validateConfig checks a parsed config document; `source` names it in errors. */
export function validateConfig(doc: unknown, source: string): AgentConfig {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(`${source}: must be a mapping of keys`);
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!TOP_KEYS.includes(k))
      throw new ConfigError(`${source}: unknown key "${k}" (known: ${TOP_KEYS.join(', ')})`);
  }
  for (const k of STRING_KEYS) {
    if (d[k] !== undefined && (typeof d[k] !== 'string' || d[k] === ''))
      throw new ConfigError(`${source}: "${k}" must be a non-empty string`);
  }
  if (d.tier !== undefined && d.tier !== 'server' && d.tier !== 'workstation')
    throw new ConfigError(
      `${source}: "tier" must be "server" or "workstation", got ${JSON.stringify(d.tier)}`,
    );
  if (d.kernelSensor !== undefined && typeof d.kernelSensor !== 'boolean')
    throw new ConfigError(`${source}: "kernelSensor" must be true or false`);
  if (d.logLevel !== undefined && !LOG_LEVELS.includes(d.logLevel as string))
    throw new ConfigError(`${source}: "logLevel" must be one of ${LOG_LEVELS.join(', ')}`);
  if (d.spool !== undefined) {
    if (typeof d.spool !== 'object' || d.spool === null || Array.isArray(d.spool))
      throw new ConfigError(`${source}: "spool" must be a mapping`);
    const s = d.spool as Record<string, unknown>;
    for (const k of Object.keys(s)) {
      if (!SPOOL_KEYS.includes(k))
        throw new ConfigError(`${source}: unknown key "spool.${k}" (known: ${SPOOL_KEYS.join(', ')})`);
      if (typeof s[k] !== 'number' || !(s[k] > 0))
        throw new ConfigError(`${source}: "spool.${k}" must be a positive number`);
    }
  }
  if (d.auth !== undefined) validateAuth(d.auth, source);
  if (d.sensor !== undefined) {
    if (typeof d.sensor !== 'object' || d.sensor === null || Array.isArray(d.sensor))
      throw new ConfigError(`${source}: "sensor" must be a mapping`);
    for (const [k, v] of Object.entries(d.sensor)) {
      if (!SENSOR_KEYS.includes(k))
        throw new ConfigError(`${source}: unknown key "sensor.${k}" (known: ${SENSOR_KEYS.join(', ')})`);
      const max = k === 'udpFlowIntervalSeconds' ? 3600 : k === 'noisyRecordsPerSecond' ? 1_000_000 : 2 ** 40;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
        throw new ConfigError(`${source}: "sensor.${k}" must be a whole number from 1 to ${max}`);
    }
  }
  if (d.isolation !== undefined) {
    if (typeof d.isolation !== 'object' || d.isolation === null || Array.isArray(d.isolation))
      throw new ConfigError(`${source}: "isolation" must be a mapping`);
    for (const [k, v] of Object.entries(d.isolation)) {
      if (!ISOLATION_KEYS.includes(k))
        throw new ConfigError(
          `${source}: unknown key "isolation.${k}" (known: ${ISOLATION_KEYS.join(', ')})`,
        );
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 3600)
        throw new ConfigError(`${source}: "isolation.${k}" must be a whole number of seconds from 1 to 3600`);
    }
  }
  return d as AgentConfig;
}

/** loadConfig reads and validates a YAML config file. */
export function loadConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML (${(err as Error).message})`);
  }
  return validateConfig(doc, path);
}
