import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from '@palisade/common';
import { pino } from 'pino';
import { type RunningAgent, startAgent } from './agent.js';
import { type AgentConfig, ConfigError, loadConfig } from './config/agent-config.js';
import { IdentityError } from './identity/identity-store.js';
import {
  RegistrationKeyInputError,
  readRegistrationKeyFile,
  takeRegistrationKeyFromEnv,
} from './identity/registration-key-input.js';
import { RegistrationError } from './identity/register.js';
import { RegistrationAborted } from './identity/register-with-retry.js';
import { SpoolStateError } from './spool/spool-state.js';
import { StateLockError } from './state-lock.js';
import { testHooksFromEnv } from './test-hooks.js';
import { runRestoreCommand } from './response/offline-restore.js';
import { runStatusCommand } from './status/status-command.js';

/**
 * TEST_BACKEND_OVERRIDE_ENV (test runs only, with PALISADE_ISOLATION_TEST=1): comma-separated
 * addresses isolation allows instead of the backend's, to prove the self-test reverts.
 */
const TEST_BACKEND_OVERRIDE_ENV = 'PALISADE_TEST_ISOLATION_BACKEND';

/** DEFAULT_STATE_DIR is where the agent keeps identity and spool unless told otherwise. */
export const DEFAULT_STATE_DIR = '/var/lib/palisade/agent';

const USAGE = `usage: palisade agent [flags]
       palisade agent restore --code CODE [--state-dir DIR]   lift isolation with the offline restore code
       palisade agent status [--state-dir DIR] [--json]       what the running agent reports (root)
  --server URL              registration service URL (first registration)
  --registration-key-file PATH
                            file holding the registration key ("-": read it from standard input);
                            or env PALISADE_REGISTRATION_KEY, or the config file
  --ca FILE                 CA certificate to trust at first registration
  --state-dir DIR           identity and spool (default ${DEFAULT_STATE_DIR})
  --config FILE             YAML config (server, registrationKey, registrationKeyFile, ca, stateDir,
                            tier, kernelSensor, logLevel, spool.maxBytes, spool.maxAgeDays,
                            auth.logPaths, auth.wtmpPath, auth.btmpPath, auth.auditLogPath,
                            auth.journalDirectory, auth.trustedPrograms,
                            isolation.selfTestTimeoutSeconds, isolation.resolveIntervalSeconds);
                            re-read on SIGHUP
  --tier server|workstation override the tier of the server policy
  --no-kernel-sensor        driverless mode: no eBPF sensor
  --log-level LEVEL         trace|debug|info|warn|error (default info)`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** AgentCommandError is a fatal, explained error of the agent command (bad flags, refused registration). */
export class AgentCommandError extends Error {
  override name = 'AgentCommandError';
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        // Refused with an explanation (a value here is readable by every local user).
        'registration-key': { type: 'string' },
        'registration-key-file': { type: 'string' },
        ca: { type: 'string' },
        'state-dir': { type: 'string' },
        config: { type: 'string' },
        tier: { type: 'string' },
        'no-kernel-sensor': { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    throw new AgentCommandError(`${(err as Error).message}\n${USAGE}`);
  }
}

function readCa(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentCommandError(`cannot read the CA file ${path}: ${(err as Error).message}`);
  }
}

/**
 * registrationKey picks the key: --registration-key-file, then the environment, then the config
 * file. Only called when the agent still has to register.
 */
function registrationKey(file: string | undefined, envKey: string | undefined, cfg: AgentConfig) {
  if (file !== undefined) return readRegistrationKeyFile(file);
  if (envKey) return envKey;
  if (cfg.registrationKeyFile) return readRegistrationKeyFile(cfg.registrationKeyFile);
  return cfg.registrationKey;
}

/**
 * runAgentCommand is `palisade agent`: it parses flags (flags win over the environment, which wins
 * over the config file), starts the agent and runs until SIGINT/SIGTERM, then flushes and stops.
 * SIGHUP re-reads the config file (the tier override). Fatal errors are printed as one clear line
 * and set a non-zero exit code.
 */
export async function runAgentCommand(argv: string[]): Promise<void> {
  if (argv[0] === 'restore') {
    try {
      return await runRestoreCommand(argv.slice(1), DEFAULT_STATE_DIR);
    } catch (err) {
      process.stderr.write(`palisade agent restore: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
  }
  if (argv[0] === 'status') {
    try {
      process.exitCode = runStatusCommand(argv.slice(1), DEFAULT_STATE_DIR);
    } catch (err) {
      process.stderr.write(`palisade agent status: ${(err as Error).message}\n`);
      process.exitCode = 2;
    }
    return;
  }
  let agent: RunningAgent | undefined;
  let log: Logger | undefined;
  // First of all: nothing started from here on (helpers, readers) may inherit the key.
  const envKey = takeRegistrationKeyFromEnv();
  try {
    const v = parse(argv);
    if (v['registration-key'] !== undefined)
      throw new AgentCommandError(
        '--registration-key is refused: a command line is readable by every local user (/proc/PID/cmdline, ps). ' +
          'Give the key with --registration-key-file PATH, --registration-key-file - (standard input), ' +
          'PALISADE_REGISTRATION_KEY or the config file',
      );
    if (v.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const cfg: AgentConfig = v.config ? loadConfig(v.config) : {};
    const tier = v.tier ?? cfg.tier;
    if (tier !== undefined && tier !== 'server' && tier !== 'workstation')
      throw new AgentCommandError(`--tier must be "server" or "workstation", got "${tier}"`);
    const level = v['log-level'] ?? cfg.logLevel ?? 'info';
    if (!LOG_LEVELS.includes(level))
      throw new AgentCommandError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
    const logger = pino({ level }, pino.destination(2));
    log = logger as unknown as Logger;
    let hooks: ReturnType<typeof testHooksFromEnv>;
    try {
      hooks = testHooksFromEnv(process.env);
    } catch (err) {
      throw new AgentCommandError((err as Error).message);
    }
    if (hooks.clock || hooks.checkInIntervalMs)
      log.warn({}, 'PALISADE_TEST_* settings in force: for tests only (see apps/agent/src/test-hooks.ts)');
    const spool = cfg.spool
      ? {
          ...(cfg.spool.maxBytes ? { maxBytes: cfg.spool.maxBytes } : {}),
          ...(cfg.spool.maxAgeDays ? { maxAgeMs: cfg.spool.maxAgeDays * 86_400_000 } : {}),
        }
      : undefined;
    // Signals during start-up (e.g. while waiting for the server to register) abort it cleanly.
    const startup = new AbortController();
    const abortStartup = () => startup.abort();
    process.once('SIGINT', abortStartup);
    process.once('SIGTERM', abortStartup);
    agent = await startAgent({
      signal: startup.signal,
      stateDir: v['state-dir'] ?? cfg.stateDir ?? DEFAULT_STATE_DIR,
      serverUrl: v.server ?? cfg.server,
      // A flag wins over the environment, which wins over the config file.
      registrationKey: () => registrationKey(v['registration-key-file'], envKey, cfg),
      caPem: readCa(v.ca ?? cfg.ca),
      tier,
      kernelSensor: !v['no-kernel-sensor'] && cfg.kernelSensor !== false,
      ...(cfg.auth ? { auth: cfg.auth } : {}),
      ...(cfg.sensor ? { sensorTuning: cfg.sensor } : {}),
      logger: log,
      spool,
      ...(hooks.clock ? { clock: hooks.clock } : {}),
      ...(hooks.checkInIntervalMs ? { checkInIntervalMs: hooks.checkInIntervalMs } : {}),
      isolation: {
        ...(cfg.isolation?.selfTestTimeoutSeconds
          ? { selfTestTimeoutMs: cfg.isolation.selfTestTimeoutSeconds * 1000 }
          : {}),
        ...(cfg.isolation?.resolveIntervalSeconds
          ? { resolveIntervalMs: cfg.isolation.resolveIntervalSeconds * 1000 }
          : {}),
        ...(process.env[TEST_BACKEND_OVERRIDE_ENV]
          ? { testBackendOverride: process.env[TEST_BACKEND_OVERRIDE_ENV].split(',').filter(Boolean) }
          : {}),
      },
    });
    process.off('SIGINT', abortStartup);
    process.off('SIGTERM', abortStartup);
    const running = agent;
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log?.info({ signal }, 'stopping');
        running.stop().then(resolve, resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGHUP', () => {
        if (!v.config) return;
        try {
          const next = loadConfig(v.config);
          // A --tier flag stays in force; otherwise the file's tier (or none) applies now.
          running.setTierOverride(v.tier ? (v.tier as 'server' | 'workstation') : next.tier);
          log?.info({ config: v.config }, 'configuration reloaded');
        } catch (err) {
          log?.error({ err: (err as Error).message }, 'configuration not reloaded; keeping the current one');
        }
      });
    });
  } catch (err) {
    if (err instanceof RegistrationAborted) {
      log?.info({}, 'stopped before registration completed');
      return;
    }
    if (
      err instanceof AgentCommandError ||
      err instanceof RegistrationKeyInputError ||
      err instanceof ConfigError ||
      err instanceof RegistrationError ||
      err instanceof IdentityError ||
      err instanceof SpoolStateError ||
      err instanceof StateLockError
    ) {
      process.stderr.write(`palisade agent: ${err.message}\n`);
      process.exitCode = 2;
      await agent?.stop();
      return;
    }
    throw err;
  }
}
