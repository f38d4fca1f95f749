import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server as HttpsServer, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { type Clock, type Logger, PalisadeError } from '@palisade/common';
import type { Storage } from '@palisade/storage';
import { authenticatePeer } from '../http/peer-auth.js';
import { ConnectionGate, type GateStats } from '../limits/connection-gate.js';
import { type ListenerLimits, httpServerOptions, telemetryCaps } from '../limits/listener-limits.js';
import type { TrustedAddresses } from '../limits/trusted-addresses.js';
import { peerLogger } from '../peer-log.js';
import type { ServerTls } from '../tls/server-tls.js';
import { BytePacer } from './byte-pacer.js';
import type { FileLimits } from './file-limits.js';
import { UploadStore, type UploadState } from './upload-store.js';

/** FILES_PATH is the receiver's URL path prefix for uploads. */
export const FILES_PATH = '/v1/files/uploads';

/** DEFAULT_FILES_PORT is where the file receiver listens by default. */
export const DEFAULT_FILES_PORT = 7446;

const MAX_JSON_BYTES = 16 * 1024;

/** FileReceiverOptions configure the file receiver listener. */
export interface FileReceiverOptions {
  host: string;
  port: number;
  dataDir: string;
  tls: ServerTls;
  storage: Storage;
  clock: Clock;
  logger: Logger;
  limits: ListenerLimits;
  files: FileLimits;
  trusted?: TrustedAddresses;
}

/** FileReceiver is a running file receiver. */
export interface FileReceiver {
  port: number;
  store: UploadStore;
  connections(): GateStats;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.byteLength;
    if (n > MAX_JSON_BYTES)
      throw new PalisadeError('payload_too_large', `JSON body over ${MAX_JSON_BYTES} bytes`);
    chunks.push(c);
  }
  try {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new PalisadeError('bad_request', `body is not a JSON object (${(err as Error).message})`);
  }
}

function wholeNumber(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new PalisadeError('bad_request', `${name} must be a whole number from 0`);
  return v;
}

function text(v: unknown, name: string, max: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max)
    throw new PalisadeError('bad_request', `${name} must be a string of 1 to ${max} characters`);
  return v;
}

/** stateJson is an upload as the agent sees it. */
function stateJson(s: UploadState) {
  return {
    upload_id: s.id,
    size: s.size,
    chunk_bytes: s.chunkBytes,
    received: s.received,
    sha256: s.sha256 ?? null,
  };
}

/**
 * startFileReceiver opens the file receiver (HTTPS, 7446 by default; docs/files.md, ADR 0025):
 * agents upload the files response commands collect, in chunks, with mutual TLS. Every request
 * is authenticated by its client certificate (authenticatePeer); the listener has the same
 * connection caps and timeouts as the telemetry listeners (ConnectionGate, ListenerLimits), a cap
 * on chunk transfers at once, and a global and a per-agent byte rate. One upload takes one chunk
 * at a time. Bodies are streamed to disk, never held whole.
 */
export async function startFileReceiver(o: FileReceiverOptions): Promise<FileReceiver> {
  const log = o.logger.child({ svc: 'files' });
  const store = new UploadStore(o.dataDir);
  const global = new BytePacer(o.files.globalBytesPerSecond);
  const perAgent = new Map<string, BytePacer>();
  const busyUploads = new Set<string>();
  let activeChunks = 0;

  const pacerOf = (agentId: string): BytePacer => {
    let p = perAgent.get(agentId);
    if (!p) {
      if (perAgent.size > 10_000) perAgent.clear();
      p = new BytePacer(o.files.agentBytesPerSecond);
      perAgent.set(agentId, p);
    }
    return p;
  };

  async function* paced(req: IncomingMessage, agentId: string): AsyncIterable<Buffer> {
    const mine = pacerOf(agentId);
    for await (const c of req as AsyncIterable<Buffer>) {
      await Promise.all([global.take(c.byteLength), mine.take(c.byteLength)]);
      yield c;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peer = await authenticatePeer(req.socket as TLSSocket, o.storage, o.clock, log);
    const agentId = peer.agent.id;
    const url = new URL(req.url ?? '/', 'https://receiver');
    if (!url.pathname.startsWith(FILES_PATH))
      throw new PalisadeError('not_found', `no route ${url.pathname}`);
    const rest = url.pathname.slice(FILES_PATH.length).split('/').filter(Boolean);
    if (rest.length === 0 && req.method === 'POST') {
      const b = await readJson(req);
      const size = wholeNumber(b.size, 'size');
      if (size > o.files.maxFileBytes)
        throw new PalisadeError(
          'payload_too_large',
          `file of ${size} bytes is over the receiver's limit of ${o.files.maxFileBytes} bytes`,
        );
      const m = {
        commandId: text(b.command_id, 'command_id', 64),
        path: text(b.path, 'path', 4096),
        size,
        mtimeMs: wholeNumber(b.mtime_ms, 'mtime_ms'),
      };
      const open = store.openUploads(agentId);
      if (
        open.length >= o.files.maxOpenUploadsPerAgent &&
        !open.some((s) => s.commandId === m.commandId && s.path === m.path)
      )
        throw new PalisadeError(
          'rate_limited',
          `agent holds ${open.length} unfinished uploads (the most allowed)`,
        );
      const s = await store.begin(agentId, m, o.files.chunkBytes, o.clock.now());
      send(res, 200, stateJson(s));
      return;
    }
    const id = rest[0] ?? '';
    if (rest.length === 1 && req.method === 'GET') {
      send(res, 200, stateJson(await store.get(id, agentId)));
      return;
    }
    if (rest.length === 1 && req.method === 'PUT') {
      const s = await store.get(id, agentId);
      const offset = Number(url.searchParams.get('offset'));
      const length = Number(req.headers['content-length']);
      if (!Number.isSafeInteger(length))
        throw new PalisadeError('bad_request', 'a chunk needs a content-length');
      if (length > s.chunkBytes)
        throw new PalisadeError(
          'payload_too_large',
          `chunk of ${length} bytes is over the chunk size ${s.chunkBytes}`,
        );
      if (busyUploads.has(id)) throw new PalisadeError('conflict', `upload ${id} is taking another chunk`);
      if (activeChunks >= o.files.maxConcurrentChunks)
        throw new PalisadeError(
          'rate_limited',
          'the receiver is taking as many chunks as it may; retry shortly',
        );
      busyUploads.add(id);
      activeChunks++;
      try {
        const out = await store.writeChunk(
          s,
          offset,
          length,
          String(req.headers['x-chunk-sha256'] ?? ''),
          paced(req, agentId),
        );
        send(res, 200, { received: out.received, duplicate: out.duplicate });
      } finally {
        busyUploads.delete(id);
        activeChunks--;
      }
      return;
    }
    if (rest.length === 2 && rest[1] === 'complete' && req.method === 'POST') {
      const s = await store.get(id, agentId);
      const b = await readJson(req);
      const stored = await store.complete(s, String(b.sha256 ?? ''));
      log.info(
        {
          agentId,
          upload: id,
          command: s.commandId,
          size: s.size,
          sha256: stored.sha256,
          dedup: stored.duplicate,
        },
        'file stored',
      );
      send(res, 200, { ...stateJson(stored.upload), stored: true, duplicate: stored.duplicate });
      return;
    }
    throw new PalisadeError('not_found', `no route ${req.method} ${url.pathname}`);
  }

  const server: HttpsServer = createServer(
    {
      ...o.tls.contextOptions(),
      requestCert: true,
      rejectUnauthorized: false,
      ...httpServerOptions(o.limits),
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        const e =
          err instanceof PalisadeError
            ? err
            : new PalisadeError('internal', 'the receiver could not take this request');
        if (!(err instanceof PalisadeError))
          log.error({ err: (err as Error).message }, 'file receiver error');
        else
          peerLogger(log, `files ${e.code}`).warn(
            { code: e.code, msg: e.message, address: req.socket.remoteAddress },
            'upload request refused',
          );
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // The body may be unread: close the connection after the answer instead of reading it.
        send(res, e.status, e.toJSON(), !req.complete);
        if (!req.complete) res.once('finish', () => req.socket.destroySoon());
      });
    },
  );
  server.timeout = o.limits.idleTimeoutMs;
  server.keepAliveTimeout = o.limits.keepAliveTimeoutMs;
  const gate = new ConnectionGate(server as unknown as TlsServer, telemetryCaps(o.limits), log, o.trusted);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  o.tls.attach(server as unknown as TlsServer);
  return {
    port: (server.address() as AddressInfo).port,
    store,
    connections: () => gate.stats(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
