import { parseArgs } from 'node:util';
import { CONFIG_KEYS, ServerConfigError, applySetting, loadConfigFile } from './config.js';
import { LIMIT_SETTINGS } from './limits/limit-settings.js';
import type { ServerOptions } from './options.js';
import { startStandbyServer } from './standby-server.js';
import { startServer } from './start-server.js';

/** DEFAULT_DATA_DIR is where `palisade server` keeps its state unless told otherwise. */
export const DEFAULT_DATA_DIR = '/var/lib/palisade/server';

const USAGE = `usage: palisade server [--data-dir DIR] [--host ADDR] [--registration-port N] [--telemetry-port N]
                       [--public-host NAME] [--config FILE.yaml] [--log-level LEVEL]
                       [--tls-cert FILE --tls-key FILE [--ca-cert FILE]] [--heartbeat-interval S]
                       [--standby-port N | --standby-url WSS-URL] [--standby-only] [--files-port N]
                       limits (README, "Limits"): [--handshake-timeout S] [--header-timeout S]
                       [--request-timeout S] [--idle-timeout S] [--keep-alive-timeout S] [--hello-timeout S]
                       [--max-connections N] [--max-unauthenticated N] [--max-unauthenticated-per-address N]
                       [--registration-max-connections N] [--registration-max-unauthenticated N]
                       [--registration-burst N] [--registration-per-minute N]
                       [--command-expiry-days N] [--playbook-isolations-per-hour N]
                       detection: [--rules-dir DIR]... (besides the default pack and DATA-DIR/rules)`;

/** parseServerArgs turns flags (and the config file they name) into ServerOptions; flags win. */
export function parseServerArgs(argv: string[]): ServerOptions {
  const flagSpec: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    config: { type: 'string' },
    'rules-dir': { type: 'string', multiple: true },
  };
  for (const [k, spec] of Object.entries(CONFIG_KEYS))
    flagSpec[k] = { type: spec.kind === 'boolean' ? 'boolean' : 'string' };
  for (const k of Object.keys(LIMIT_SETTINGS)) flagSpec[k] = { type: 'string' };
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: flagSpec, strict: true, allowPositionals: false }) as {
      values: Record<string, string | boolean | string[] | undefined>;
    });
  } catch (err) {
    throw new ServerConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  const opts: Partial<ServerOptions> = typeof values.config === 'string' ? loadConfigFile(values.config) : {};
  for (const [k, v] of Object.entries(values)) {
    if (k === 'config' || k === 'rules-dir' || v === undefined || Array.isArray(v)) continue;
    applySetting(opts, 'flag', k, v);
  }
  const rulesDirs = values['rules-dir'];
  if (Array.isArray(rulesDirs) && rulesDirs.length > 0) {
    opts.detection = { ...opts.detection, rulesDirs: [...(opts.detection?.rulesDirs ?? []), ...rulesDirs] };
  }
  opts.dataDir ??= DEFAULT_DATA_DIR;
  // The environment may set the log level (benchmarks and services do); flags and config win.
  if (opts.logLevel === undefined && process.env.PALISADE_LOG_LEVEL) {
    applySetting(opts, 'PALISADE_LOG_LEVEL', 'log-level', process.env.PALISADE_LOG_LEVEL);
  }
  return opts as ServerOptions;
}

/**
 * runServerCommand is `palisade server`: it starts the server, prints where it listens and runs
 * until SIGINT or SIGTERM, then stops cleanly (pending batches are stored and acked first).
 */
export async function runServerCommand(argv: string[]): Promise<void> {
  const opts = parseServerArgs(argv);
  let server: { close(): Promise<void> };
  if (opts.standbyOnly) {
    const standby = await startStandbyServer(opts);
    process.stdout.write(
      `palisade standby listening\n  telemetry standby:  ${standby.standbyUrl}\n  data directory:     ${standby.dataDir}\n`,
    );
    server = standby;
  } else {
    const full = await startServer(opts);
    process.stdout.write(
      `palisade server listening\n  registration + API: ${full.registrationUrl}\n  telemetry:          ${full.telemetryUrl}\n  telemetry standby:  ${full.standbyUrl}\n  data directory:     ${full.dataDir}\n`,
    );
    server = full;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stdout.write(`received ${signal}, stopping\n`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      server.close().then(resolve, (err) => {
        process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
        resolve();
      });
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}
