import { createHash } from 'node:crypto';
import { request } from 'node:https';
import type { TlsMaterial } from '../transport/https-client.js';

/** UploadAnswer is the receiver's view of an upload. */
export interface UploadAnswer {
  upload_id: string;
  size: number;
  chunk_bytes: number;
  received: number;
  sha256: string | null;
}

/** ReceiverError is a refusal from the file receiver, with its HTTP status and message. */
export class ReceiverError extends Error {
  override name = 'ReceiverError';
  constructor(
    readonly status: number,
    message: string,
    readonly received?: number,
  ) {
    super(message);
  }
}

/** receiverCall sends one request to the file receiver and parses its JSON answer. */
export function receiverCall<T>(
  url: string,
  tls: TlsMaterial,
  method: string,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        timeout: timeoutMs,
        headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.byteLength;
          if (n > 64 * 1024) req.destroy(new Error('receiver answer too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          let json: { error?: { message?: string; details?: { received?: number } } } & Record<
            string,
            unknown
          >;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(
              new ReceiverError(res.statusCode ?? 0, `receiver answered ${res.statusCode} without JSON`),
            );
            return;
          }
          if ((res.statusCode ?? 0) >= 300)
            reject(
              new ReceiverError(
                res.statusCode ?? 0,
                json.error?.message ?? `status ${res.statusCode}`,
                json.error?.details?.received,
              ),
            );
          else resolve(json as T);
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${new URL(url).host} within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** sha256Hex is the hex sha256 of `b`. */
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
