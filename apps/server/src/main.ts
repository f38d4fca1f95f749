import { parseArgs } from 'node:util';
import { CONFIG_KEYS, ServerConfigError, convertValue, loadConfigFile } from './config.js';
import type { ServerOptions } from './options.js';
import { startServer } from './start-server.js';

/** DEFAULT_DATA_DIR is where `palisade server` keeps its state unless told otherwise. */
export const DEFAULT_DATA_DIR = '/var/lib/palisade/server';

const USAGE = `usage: palisade server [--data-dir DIR] [--host ADDR] [--registration-port N] [--telemetry-port N]
                       [--public-host NAME] [--config FILE.yaml] [--log-level LEVEL]
                       [--tls-cert FILE --tls-key FILE [--ca-cert FILE]] [--heartbeat-interval S]`;

/** parseServerArgs turns flags (and the config file they name) into ServerOptions; flags win. */
export function parseServerArgs(argv: string[]): ServerOptions {
  const flagSpec: Record<string, { type: 'string' }> = { config: { type: 'string' } };
  for (const k of Object.keys(CONFIG_KEYS)) flagSpec[k] = { type: 'string' };
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: flagSpec, strict: true, allowPositionals: false }) as {
      values: Record<string, string | undefined>;
    });
  } catch (err) {
    throw new ServerConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  const opts: Record<string, unknown> = values.config ? loadConfigFile(values.config) : {};
  for (const [k, v] of Object.entries(values)) {
    if (k === 'config' || v === undefined) continue;
    opts[CONFIG_KEYS[k]!.option] = convertValue('flag', k, v);
  }
  opts.dataDir ??= DEFAULT_DATA_DIR;
  // The environment may set the log level (benchmarks and services do); flags and config win.
  if (opts.logLevel === undefined && process.env.PALISADE_LOG_LEVEL) {
    opts.logLevel = convertValue('PALISADE_LOG_LEVEL', 'log-level', process.env.PALISADE_LOG_LEVEL);
  }
  return opts as unknown as ServerOptions;
}

/**
 * runServerCommand is `palisade server`: it starts the server, prints where it listens and runs
 * until SIGINT or SIGTERM, then stops cleanly (pending batches are stored and acked first).
 */
export async function runServerCommand(argv: string[]): Promise<void> {
  const opts = parseServerArgs(argv);
  const server = await startServer(opts);
  process.stdout.write(
    `palisade server listening\n  registration + API: ${server.registrationUrl}\n  telemetry:          ${server.telemetryUrl}\n  data directory:     ${server.dataDir}\n`,
  );
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
