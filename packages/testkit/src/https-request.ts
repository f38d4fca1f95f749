import { request } from 'node:https';

/** HttpsResult is a response read whole. */
export interface HttpsResult {
  status: number;
  contentType: string;
  body: Buffer;
  /** The response headers, as Node gives them (lower-case names). */
  headers: import('node:http').IncomingHttpHeaders;
}

/** HttpsOptions carry the TLS material and limits of one request. */
export interface HttpsOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** CA to verify the server with (PEM). */
  ca: string;
  /** Client certificate and key for mutual TLS (PEM). */
  cert?: string;
  key?: string;
  /** @default 10000 */
  timeoutMs?: number;
}

/** httpsRequest sends one HTTPS request with real TLS and returns status, content type and body. */
export function httpsRequest(url: string, o: HttpsOptions): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        headers: o.headers,
        ca: o.ca,
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
        timeout: o.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}
