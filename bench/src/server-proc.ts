import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureTail, stopChild } from './agent-proc.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
/** CLI is the built `palisade` command. */
export const CLI = join(ROOT, 'apps/cli/dist/main.js');

/** ClientInfo is the part of the server's client.json the benches use. */
export interface ClientInfo {
  registrationUrl: string;
  telemetryUrl: string;
  caFile: string;
}

/** BenchServer is a running `palisade server` and what it wrote for clients. */
export interface BenchServer {
  child: ChildProcess;
  client: ClientInfo;
  /** The default group's registration key. */
  key: string;
  /** The server CA, PEM. */
  ca: string;
  /** The last 4,000 characters the server wrote. */
  tail: () => string;
}

/** ServerProcessOptions shape how the server process is started. */
export interface ServerProcessOptions {
  /** A command the server runs under, e.g. `['prlimit', '--nofile=N:N', '--']`. */
  wrapper?: string[];
  nodeFlags?: string[];
  /** More `palisade server` flags. */
  args?: string[];
}

/** BENCH_LIMIT_FLAGS lift the per-address registration rate and unauthenticated-connection caps. */
export const BENCH_LIMIT_FLAGS = [
  '--registration-burst',
  '1000000',
  '--registration-per-minute',
  '1000000',
  '--max-unauthenticated-per-address',
  '1000000',
  '--max-unauthenticated',
  '1000000',
  '--max-connections',
  '1000000',
  '--registration-max-connections',
  '1000000',
  '--registration-max-unauthenticated',
  '1000000',
];

/**
 * startServerProcess starts `palisade server` on ephemeral loopback ports with `dataDir` (quiet
 * logs) and resolves once it has written its client files; it fails with the server's last output
 * when it exits or is not ready within 30 s.
 */
export async function startServerProcess(
  dataDir: string,
  o: ServerProcessOptions = {},
): Promise<BenchServer> {
  const argv = [
    ...(o.wrapper ?? []),
    process.execPath,
    ...(o.nodeFlags ?? []),
    CLI,
    'server',
    '--data-dir',
    dataDir,
    '--registration-port',
    '0',
    '--telemetry-port',
    '0',
    // Simulated fleets come from one or a few loopback addresses, which the per-address limits
    // (made for real fleets) would throttle: benchmarks measure capacity, not the limits.
    ...BENCH_LIMIT_FLAGS,
    ...(o.args ?? []),
  ];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PALISADE_LOG_LEVEL: 'warn' },
  });
  const tail = captureTail(child);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const client = JSON.parse(readFileSync(join(dataDir, 'client.json'), 'utf8')) as ClientInfo;
      const key = readFileSync(join(dataDir, 'registration-key'), 'utf8').trim();
      const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
      // The files come just before the listeners accept: give them a moment.
      await new Promise((r) => setTimeout(r, 300));
      return { child, client, key, ca, tail };
    } catch {
      if (child.exitCode !== null) throw new Error(`the server exited: ${tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stopChild(child);
  throw new Error(`the server did not start in 30 s: ${tail()}`);
}
