import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

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

/**
 * resolveTarget finds the API: `--server`/`--token`/`--ca` (or PALISADE_SERVER, PALISADE_TOKEN,
 * PALISADE_CA), else the `client.json` that a server on this host writes into its data directory.
 */
export function resolveTarget(flags: {
  server?: string;
  token?: string;
  ca?: string;
  'data-dir'?: string;
}): ApiTarget {
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
      `no server given and no local server found (${clientFile} does not exist): pass --server https://HOST:7443 --token TOKEN`,
    );
  }
  let token = flags.token ?? process.env.PALISADE_TOKEN;
  if (!token && local?.tokenFile && existsSync(local.tokenFile))
    token = readFileSync(local.tokenFile, 'utf8').trim();
  if (!token) throw new CliError('no API token: pass --token or set PALISADE_TOKEN');
  const caFile = flags.ca ?? process.env.PALISADE_CA ?? local?.caFile;
  const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
  return { apiUrl: apiUrl.replace(/\/+$/, ''), token, ...(ca ? { ca } : {}) };
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
            reject(new CliError(`server answered ${res.statusCode} with non-JSON: ${text.slice(0, 200)}`));
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e = (parsed as { error?: { code?: string; message?: string } }).error;
            reject(
              new CliError(`${res.statusCode} ${e?.code ?? 'error'}: ${e?.message ?? text.slice(0, 200)}`),
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
