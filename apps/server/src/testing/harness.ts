import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@palisade/common';
import type { RunningServer, ServerOptions } from '../options.js';
import { startServer } from '../start-server.js';

/** TestServer is a real server on ephemeral loopback ports with a temp data dir, for tests. */
export interface TestServer {
  server: RunningServer;
  dataDir: string;
  registrationKey: string;
  adminToken: string;
  /** api calls the admin API with the admin token (or `token`), returning status and parsed JSON. */
  api(
    method: string,
    path: string,
    o?: {
      token?: string | null;
      body?: unknown;
      rawBody?: string;
      contentType?: string;
      headers?: Record<string, string>;
    },
    // biome-ignore lint/suspicious/noExplicitAny: tests probe the JSON freely
  ): Promise<{ status: number; json: any; headers: import('node:http').IncomingHttpHeaders }>;
  /** stop closes the server and removes the data dir. */
  stop(): Promise<void>;
}

/** startTestServer starts a server on 127.0.0.1 port 0 in a fresh temp directory. */
export async function startTestServer(
  o: { clock?: Clock; dataDir?: string; keepDir?: boolean } & Partial<ServerOptions> = {},
): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'palisade-server-test-'));
  let server: RunningServer;
  try {
    server = await startServer({
      registrationPort: 0,
      telemetryPort: 0,
      logLevel: process.env.PALISADE_TEST_LOG ?? 'silent',
      heartbeatFlushMs: 100,
      ...o,
      // Tests register many agents from 127.0.0.1: the per-address registration rate is lifted
      // unless a test sets it (limits/listener-limits.test.ts does).
      limits: { registrationBurst: 1_000_000, registrationPerMinute: 1_000_000, ...o.limits },
      dataDir,
    });
  } catch (err) {
    if (!o.keepDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const registrationKey = readFileSync(join(dataDir, 'registration-key'), 'utf8').trim();
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  // Talk to the loopback address even when publicHost names a host that does not resolve here.
  const apiBase = `https://127.0.0.1:${new URL(server.registrationUrl).port}`;
  const api: TestServer['api'] = (method, path, a = {}) =>
    new Promise((resolve, reject) => {
      const token = a.token === undefined ? adminToken : a.token;
      const body = a.rawBody ?? (a.body !== undefined ? JSON.stringify(a.body) : undefined);
      const req = request(
        `${apiBase}${path}`,
        {
          method,
          ca: server.caPem,
          agent: false,
          timeout: 10_000,
          headers: {
            ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { 'content-type': a.contentType ?? 'application/json' } : {}),
            ...a.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = { nonJson: text };
            }
            resolve({ status: res.statusCode ?? 0, json, headers: res.headers });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('API request timed out')));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  return {
    server,
    dataDir,
    registrationKey,
    adminToken,
    api,
    async stop() {
      await server.close();
      if (!o.keepDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
