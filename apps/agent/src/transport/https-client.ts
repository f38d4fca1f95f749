import { request } from 'node:https';
import { LIMITS } from '@palisade/protocol';

/** TlsMaterial is what the agent presents and trusts on a TLS connection. */
export interface TlsMaterial {
  /** CA certificate(s) PEM to trust; undefined trusts the system store (first registration only). */
  ca?: string;
  /** Client certificate and key for mutual TLS (registered agents). */
  cert?: string;
  key?: string;
}

/** HttpError is a non-2xx answer; `code` is the server's error code when it sent one. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** postProtobuf options. */
export interface PostOptions {
  tls: TlsMaterial;
  /** Give up after this long. @default 15000 */
  timeoutMs?: number;
  /** Open a new connection instead of reusing a kept-alive one (proves the path works now). */
  freshConnection?: boolean;
}

/**
 * postProtobuf POSTs a protobuf body over HTTPS and returns the protobuf answer. A 4xx/5xx answer
 * becomes an HttpError carrying the server's JSON error code and message.
 */
export function postProtobuf(url: string, body: Uint8Array, opts: PostOptions): Promise<Uint8Array> {
  const u = new URL(url);
  if (u.protocol !== 'https:') return Promise.reject(new Error(`refusing to talk to ${url}: not https`));
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength },
        ca: opts.tls.ca,
        cert: opts.tls.cert,
        key: opts.tls.key,
        timeout: opts.timeoutMs ?? 15_000,
        ...(opts.freshConnection ? { agent: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.byteLength;
          if (size > LIMITS.maxRequestBytes * 16) {
            req.destroy(new Error(`answer from ${url} is too large`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(data);
          let code = `http_${status}`;
          let message = data.toString('utf8').slice(0, 500);
          try {
            const j = JSON.parse(message) as { error?: { code?: string; message?: string } };
            if (j.error?.code) code = j.error.code;
            if (j.error?.message) message = j.error.message;
          } catch {
            // not JSON: keep the text
          }
          reject(new HttpError(status, code, `${url}: ${status} ${code}: ${message}`));
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${url}: no answer within ${opts.timeoutMs ?? 15_000} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}
