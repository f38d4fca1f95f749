import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, waitFor } from '@palisade/testkit';

/** ROOT is the repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** CLI is the compiled `palisade` entry point. */
export const CLI = join(ROOT, 'apps/cli/dist/main.js');

/** Proc is a child process with its captured output, for assertions and post-mortems. */
export interface Proc {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** startCli starts `palisade <args>` as a real child process. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return {
    child,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((res) => {
        if (child.exitCode !== null || child.signalCode !== null) return res(child.exitCode);
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', (code) => {
          clearTimeout(t);
          res(code);
        });
        child.kill(signal);
      }),
  };
}

/** runCli runs `palisade <args>` to completion and returns its exit code and output. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        res({ code, stdout, stderr });
      },
    );
  });
}

/** ClientInfo is the server's client.json. */
export interface ClientInfo {
  apiUrl: string;
  registrationUrl: string;
  telemetryUrl: string;
  caFile: string;
  tokenFile: string;
}

function healthy(apiUrl: string, ca: string): Promise<boolean> {
  return new Promise((res) => {
    const req = request(new URL('/api/v1/health', apiUrl), { ca, timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.end();
  });
}

/** ServerHandle is a real `palisade server` process on ephemeral ports with a temp data dir. */
export interface ServerHandle extends Proc {
  dataDir: string;
  client: ClientInfo;
}

/** startServerProcess starts a server on ephemeral loopback ports and waits until it is healthy. */
export async function startServerProcess(
  dataDir = tempDir('palisade-e2e-server-'),
  ports: { registration: number; telemetry: number } = { registration: 0, telemetry: 0 },
): Promise<ServerHandle> {
  const p = startCli([
    'server',
    '--data-dir',
    dataDir,
    '--registration-port',
    String(ports.registration),
    '--telemetry-port',
    String(ports.telemetry),
  ]);
  const clientFile = join(dataDir, 'client.json');
  try {
    const client = await waitFor(
      'the server to become healthy',
      async () => {
        if (p.child.exitCode !== null) throw new Error(`server exited: ${p.output()}`);
        if (!existsSync(clientFile)) return undefined;
        const c = JSON.parse(readFileSync(clientFile, 'utf8')) as ClientInfo;
        return (await healthy(c.apiUrl, readFileSync(c.caFile, 'utf8'))) ? c : undefined;
      },
      30_000,
    );
    return { ...p, dataDir, client };
  } catch (err) {
    await p.stop('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- server output ---\n${p.output()}`);
  }
}

/** portsOf returns the ports a running server listens on, to restart it on the same ones. */
export function portsOf(server: ServerHandle): { registration: number; telemetry: number } {
  return {
    registration: Number(new URL(server.client.apiUrl).port),
    telemetry: Number(new URL(server.client.telemetryUrl).port),
  };
}

/** startAgentProcess starts a real `palisade agent` registered to `server` with its default key. */
export function startAgentProcess(server: ServerHandle, stateDir: string, extra: string[] = []): Proc {
  const key = readFileSync(join(server.dataDir, 'registration-key'), 'utf8').trim();
  return startCli(
    [
      'agent',
      '--server',
      server.client.registrationUrl,
      '--ca',
      server.client.caFile,
      '--state-dir',
      stateDir,
      ...extra,
    ],
    { PALISADE_REGISTRATION_KEY: key },
  );
}
