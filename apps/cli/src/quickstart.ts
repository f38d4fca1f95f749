import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, DEFAULT_SERVER_DATA_DIR } from './client.js';

/** DEFAULT_AGENT_STATE_DIR is where the quickstart's local agent keeps its identity and spool. */
export const DEFAULT_AGENT_STATE_DIR = '/var/lib/palisade/agent';

const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** The agent runs through its launcher, which sets what must be set before Node starts. */
export const AGENT_LAUNCHER = fileURLToPath(new URL('../bin/palisade-agent', import.meta.url));

interface ClientFile {
  apiUrl: string;
  registrationUrl: string;
  caFile: string;
}

function health(apiUrl: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(new URL('/api/v1/health', apiUrl), { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function startChild(
  name: string,
  command: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PALISADE_NODE: process.execPath, ...env },
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  process.stdout.write(`[quickstart] started ${name} (pid ${child.pid}), log: ${logFile}\n`);
  return child;
}

/**
 * curlExample is a curl command line that searches events with the admin token in `tokenFile`
 * without putting the token in any command line (argv is readable by every user of the host):
 * sed turns the file into a header line and curl reads its headers from stdin (`-H @-`).
 */
export function curlExample(c: { caFile: string; apiUrl: string }, tokenFile: string): string {
  return `sed 's/^/Authorization: Bearer /' ${tokenFile} | curl --cacert ${c.caFile} -H @- '${c.apiUrl}/api/v1/events?class=process&limit=5'`;
}

/**
 * agentLaunch is the quickstart agent's command line. The registration key stays in its file:
 * argv carries the file's name (`--registration-key-file`), never the key, since every user of
 * the host can read command lines, and the key is not put in the environment either, which the
 * agent's children would inherit.
 */
export function agentLaunch(
  c: { registrationUrl: string; caFile: string },
  stateDir: string,
  keyFile: string,
): string[] {
  return [
    AGENT_LAUNCHER,
    '--server',
    c.registrationUrl,
    '--ca',
    c.caFile,
    '--state-dir',
    stateDir,
    '--registration-key-file',
    keyFile,
  ];
}

/** tryItLines is what the quickstart prints once everything runs: commands to try. */
export function tryItLines(c: { caFile: string; apiUrl: string }, tokenFile: string): string[] {
  const passwordFile = join(dirname(tokenFile), 'initial-admin-password');
  return [
    `[quickstart] web console: ${c.apiUrl}/ (its certificate is signed by the CA in ${c.caFile})`,
    `[quickstart] first login: user "admin", password in ${passwordFile} (root only; sudo cat it), changed at first login`,
    '[quickstart] Palisade is running. Try, in another terminal:',
    '  npx palisade agents list',
    '  /bin/echo palisade-hello && npx palisade events search --class process --contains palisade-hello',
    `  ${curlExample(c, tokenFile)}`,
    '[quickstart] Ctrl-C stops server and agent.',
    '',
  ];
}

/**
 * quickstart runs a whole Palisade on this host: a server on its embedded SQLite store (first
 * start creates its CA, the default group, a registration key and an admin token) and a local
 * agent registered to it with that key. It stays in the foreground; Ctrl-C stops both.
 */
export async function quickstart(flags: { 'data-dir'?: string; 'state-dir'?: string }): Promise<void> {
  const dataDir = flags['data-dir'] ?? DEFAULT_SERVER_DATA_DIR;
  const stateDir = flags['state-dir'] ?? DEFAULT_AGENT_STATE_DIR;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });

  const server = startChild(
    'server',
    [process.execPath, CLI_MAIN, 'server', '--data-dir', dataDir],
    join(dataDir, 'server.log'),
  );
  const children: ChildProcess[] = [server];
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    setTimeout(() => process.exit(code), 3000).unref();
    Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
    ).then(() => process.exit(code));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  server.once('exit', (code) => {
    if (!stopping) {
      process.stderr.write(
        `[quickstart] server exited with code ${code}; see ${join(dataDir, 'server.log')}\n`,
      );
      stop(1);
    }
  });

  const clientFile = join(dataDir, 'client.json');
  const deadline = Date.now() + 60_000;
  let client: ClientFile | undefined;
  while (Date.now() < deadline && !stopping) {
    if (existsSync(clientFile)) {
      client = JSON.parse(readFileSync(clientFile, 'utf8')) as ClientFile;
      if (await health(client.apiUrl, readFileSync(client.caFile, 'utf8'))) break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!client || stopping) {
    stop(1);
    throw new CliError(`the server did not come up within 60 s; see ${join(dataDir, 'server.log')}`);
  }
  process.stdout.write(`[quickstart] server ready: ${client.apiUrl} (data in ${dataDir})\n`);

  const agent = startChild(
    'agent',
    agentLaunch(client, stateDir, join(dataDir, 'registration-key')),
    join(stateDir, 'agent.log'),
  );
  children.push(agent);
  agent.once('exit', (code) => {
    if (!stopping) {
      process.stderr.write(
        `[quickstart] agent exited with code ${code}; see ${join(stateDir, 'agent.log')}\n`,
      );
      stop(1);
    }
  });
  process.stdout.write(tryItLines(client, join(dataDir, 'admin-token')).join('\n'));
  await new Promise(() => {});
}
