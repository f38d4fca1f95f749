import { existsSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { safe } from './terminal-text.js';

/** DEFAULT_SERVER_DATA_DIR is where `palisade server` keeps its data unless told otherwise. */
export const DEFAULT_SERVER_DATA_DIR = '/var/lib/palisade/server';

/** ApiTarget is where the CLI sends API calls and how it authenticates. */
export interface ApiTarget {
  apiUrl: string;
  token: string;
  ca?: string;
}

/** CliError is a failure to show to the user as one line, with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

interface ClientFile {
  apiUrl: string;
  caFile?: string;
  tokenFile?: string;
}

/** TOKEN_ARGV_WARNING is printed when the API token is given on the command line. */
export const TOKEN_ARGV_WARNING =
  'palisade: warning: --token puts the API token on the command line, where other users of this host can read it (ps, /proc/PID/cmdline); use --token-file FILE, --token-file - (stdin) or PALISADE_TOKEN\n';

const MAX_TOKEN_BYTES = 4096;

/**
 * readTokenFile reads an API token from a file, or from stdin when `path` is `-`: the first line,
 * trimmed. It warns when the file can be read by other users (the token is a password).
 */
export function readTokenFile(
  path: string,
  warn: (line: string) => void = (l) => process.stderr.write(l),
): string {
  let raw: Buffer;
  try {
    if (path !== '-' && (statSync(path).mode & 0o077) !== 0) {
      warn(`palisade: warning: token file ${path} can be read by other users; chmod 600 it\n`);
    }
    raw = readFileSync(path === '-' ? 0 : path);
  } catch (err) {
    throw new CliError(
      `cannot read the API token from ${path === '-' ? 'stdin' : path}: ${(err as Error).message}`,
    );
  }
  if (raw.length > MAX_TOKEN_BYTES)
    throw new CliError(
      `${path === '-' ? 'stdin' : path} is not a token file (over ${MAX_TOKEN_BYTES} bytes)`,
    );
  const token = raw.toString('utf8').split('\n')[0]?.trim() ?? '';
  if (!token) throw new CliError(`no API token in ${path === '-' ? 'stdin' : path} (it is empty)`);
  return token;
}

/** TargetFlags are the flags that say where the API is and how to authenticate. */
export interface TargetFlags {
  server?: string;
  token?: string;
  'token-file'?: string;
  ca?: string;
  'data-dir'?: string;
}

/**
 * resolveTarget finds the API: `--server`/`--ca` (or PALISADE_SERVER, PALISADE_CA), else the
 * `client.json` that a server on this host writes into its data directory. The token comes from
 * `--token-file FILE` (`-` reads stdin), PALISADE_TOKEN, PALISADE_TOKEN_FILE, or the local
 * server's token file; `--token VALUE` still works but warns, since argv is visible to every user.
 */
export function resolveTarget(
  flags: TargetFlags,
  warn: (line: string) => void = (l) => process.stderr.write(l),
): ApiTarget {
  const dataDir = flags['data-dir'] ?? process.env.PALISADE_DATA_DIR ?? DEFAULT_SERVER_DATA_DIR;
  let local: ClientFile | undefined;
  const clientFile = join(dataDir, 'client.json');
  if (existsSync(clientFile)) {
    try {
      local = JSON.parse(readFileSync(clientFile, 'utf8')) as ClientFile;
    } catch (err) {
      throw new CliError(`cannot read ${clientFile}: ${(err as Error).message}`);
    }
  }
  const apiUrl = flags.server ?? process.env.PALISADE_SERVER ?? local?.apiUrl;
  if (!apiUrl) {
    throw new CliError(
      `no server given and no local server found (${clientFile} does not exist): pass --server https://HOST:7443 --token-file FILE`,
    );
  }
  if (flags.token !== undefined && flags['token-file'] !== undefined)
    throw new CliError('--token and --token-file cannot be combined', 2);
  if (flags.token !== undefined) warn(TOKEN_ARGV_WARNING);
  let token: string | undefined;
  if (flags['token-file'] !== undefined) token = readTokenFile(flags['token-file'], warn);
  else token = flags.token ?? process.env.PALISADE_TOKEN;
  if (!token && process.env.PALISADE_TOKEN_FILE) token = readTokenFile(process.env.PALISADE_TOKEN_FILE, warn);
  if (!token && local?.tokenFile && existsSync(local.tokenFile))
    token = readFileSync(local.tokenFile, 'utf8').trim();
  if (!token)
    throw new CliError('no API token: pass --token-file FILE (or - for stdin) or set PALISADE_TOKEN');
  const caFile = flags.ca ?? process.env.PALISADE_CA ?? local?.caFile;
  const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
  return { apiUrl: apiUrl.replace(/\/+$/, ''), token, ...(ca ? { ca } : {}) };
}

/** withQuery appends the defined entries of `query` to an API path as a query string. */
export function withQuery(path: string, query: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
  return q.size ? `${path}?${q}` : path;
}

/** apiCall sends one API request and returns the parsed JSON body, or throws CliError with the server's message. */
export function apiCall<T>(target: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  const url = new URL(path.startsWith('/api/') ? path : `/api/v1${path}`, target.apiUrl);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method,
        ...(target.ca ? { ca: target.ca } : {}),
        headers: {
          authorization: `Bearer ${target.token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            reject(
              new CliError(safe`server answered ${res.statusCode} with non-JSON: ${text.slice(0, 200)}`),
            );
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = (parsed as { error?: { code?: string; message?: string } }).error;
            reject(
              // The message may quote what a peer sent: escaped like table cells.
              new CliError(
                safe`${res.statusCode} ${e?.code ?? 'error'}: ${e?.message ?? text.slice(0, 200)}`,
              ),
            );
            return;
          }
          resolvePromise(parsed as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', (err) => reject(new CliError(`cannot reach ${target.apiUrl}: ${err.message}`)));
    if (payload) req.write(payload);
    req.end();
  });
}
