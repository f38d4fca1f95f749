import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@palisade/common';
import { writeAtomic } from '../identity/atomic-file.js';
import type { TlsMaterial } from '../transport/https-client.js';
import { CollectRefusal, openRegular } from './open-regular.js';
import { ReceiverError, type UploadAnswer, receiverCall, sha256Hex } from './upload-client.js';

const UPLOADS_PATH = '/v1/files/uploads';
const MAX_CHUNK = 8 * 1024 * 1024;

/** CollectOptions say where the file goes and how much may be sent. */
export interface CollectOptions {
  commandId: string;
  path: string;
  maxBytes: number;
  /** The file receiver's base URL (check-in endpoints: files_url). */
  filesUrl: string;
  tls: TlsMaterial;
  /** The agent's state directory; upload records live in `<stateDir>/uploads`. */
  stateDir: string;
  logger: Logger;
  /** Network failures retried in a row before giving up. @default 20 */
  retries?: number;
  /** First retry delay, ms (doubles to 10 s). @default 500 */
  retryDelayMs?: number;
}

/** Collected is what a finished collection reports. */
export interface Collected {
  path: string;
  size: number;
  sha256: string;
  uploadId: string;
  /** Where this run started sending (0 unless it resumed an earlier upload). */
  resumedFrom: number;
}

interface UploadRecord {
  uploadId: string;
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * collectFile uploads one regular file to the file receiver, resumably (docs/files.md, ADR 0025):
 * the upload id is kept in `<stateDir>/uploads/<command id>.json`, so after a dropped connection
 * or an agent restart it asks the receiver how much it has and goes on from there. One chunk
 * buffer (the receiver's chunk size, at most 8 MiB) is all it holds. A file whose size or mtime
 * differ after reading (or from the earlier run being resumed) is reported as changed.
 */
export async function collectFile(o: CollectOptions): Promise<Collected> {
  const f = await openRegular(o.path, o.maxBytes);
  const dir = join(o.stateDir, 'uploads');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const recordPath = join(dir, `${o.commandId}.json`);
  const base = `${o.filesUrl.replace(/\/$/, '')}${UPLOADS_PATH}`;
  const before = { size: f.stat.size, mtimeMs: Math.trunc(f.stat.mtimeMs) };
  const retries = o.retries ?? 20;
  let delay = o.retryDelayMs ?? 500;
  const withRetry = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fn();
        delay = o.retryDelayMs ?? 500;
        return r;
      } catch (err) {
        const transient =
          !(err instanceof ReceiverError) || err.status === 429 || err.status === 503 || err.status === 0;
        if (!transient || attempt >= retries) throw err;
        o.logger.warn(
          { command: o.commandId, what, err: (err as Error).message, attempt },
          'file upload retrying',
        );
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(10_000, delay * 2);
      }
    }
  };
  try {
    let rec: UploadRecord | undefined;
    try {
      rec = JSON.parse(readFileSync(recordPath, 'utf8')) as UploadRecord;
    } catch {
      rec = undefined;
    }
    if (rec && (rec.path !== o.path || rec.size !== before.size || rec.mtimeMs !== before.mtimeMs)) {
      rmSync(recordPath, { force: true });
      throw new CollectRefusal(
        'bad_request',
        `${o.path} changed since its upload started (size ${rec.size} -> ${before.size}, mtime ${rec.mtimeMs} -> ${before.mtimeMs}); collect it again`,
      );
    }
    const ask = (): Promise<UploadAnswer> =>
      rec
        ? receiverCall<UploadAnswer>(`${base}/${rec.uploadId}`, o.tls, 'GET', '')
        : receiverCall<UploadAnswer>(
            base,
            o.tls,
            'POST',
            JSON.stringify({
              command_id: o.commandId,
              path: o.path,
              size: before.size,
              mtime_ms: before.mtimeMs,
            }),
            { 'content-type': 'application/json' },
          );
    let state = await withRetry('start', ask);
    if (!rec) {
      rec = { uploadId: state.upload_id, path: o.path, size: before.size, mtimeMs: before.mtimeMs };
      writeAtomic(recordPath, JSON.stringify(rec), 0o600);
    }
    const chunkBytes = state.chunk_bytes;
    if (!(chunkBytes > 0 && chunkBytes <= MAX_CHUNK))
      throw new Error(`receiver asked for chunks of ${chunkBytes} bytes`);
    const buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(1, before.size)));
    const whole = createHash('sha256');
    const resumedFrom = state.received;
    // Hash what the receiver has already, from the file (it never sends bytes back).
    let offset = 0;
    const readAt = async (at: number): Promise<Buffer> => {
      const len = Math.min(chunkBytes, before.size - at);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await f.fh.read(buf, got, len - got, at + got);
        if (bytesRead === 0)
          throw new CollectRefusal(
            'bad_request',
            `${o.path} shrank while being read (at ${at + got} of ${before.size} bytes)`,
          );
        got += bytesRead;
      }
      return buf.subarray(0, len);
    };
    while (offset < state.received) {
      whole.update(await readAt(offset));
      offset += Math.min(chunkBytes, before.size - offset);
    }
    if (resumedFrom > 0)
      o.logger.info({ command: o.commandId, path: o.path, resumedFrom }, 'file upload resumed');
    while (offset < before.size) {
      const chunk = await readAt(offset);
      const at = offset;
      const hash = sha256Hex(chunk);
      await withRetry('chunk', async () => {
        try {
          return await receiverCall(`${base}/${rec!.uploadId}?offset=${at}`, o.tls, 'PUT', chunk, {
            'content-type': 'application/octet-stream',
            'x-chunk-sha256': hash,
          });
        } catch (err) {
          // A reply lost in a dropped connection: the receiver may have the chunk already.
          if (!(err instanceof ReceiverError)) {
            const s = await receiverCall<UploadAnswer>(`${base}/${rec!.uploadId}`, o.tls, 'GET', '').catch(
              () => undefined,
            );
            if (s && s.received >= at + chunk.byteLength) return s;
          }
          throw err;
        }
      });
      whole.update(chunk);
      offset += chunk.byteLength;
    }
    const after = await f.fh.stat();
    const now = await lstat(o.path).catch(() => undefined);
    if (
      after.size !== before.size ||
      Math.trunc(after.mtimeMs) !== before.mtimeMs ||
      !now ||
      now.ino !== f.stat.ino
    ) {
      throw new CollectRefusal(
        'bad_request',
        `${o.path} changed while being read (size ${before.size} -> ${after.size}, mtime ${before.mtimeMs} -> ${Math.trunc(after.mtimeMs)}${!now || now.ino !== f.stat.ino ? ', replaced' : ''}); not stored`,
      );
    }
    const sha256 = whole.digest('hex');
    state = await withRetry('complete', () =>
      receiverCall<UploadAnswer>(
        `${base}/${rec!.uploadId}/complete`,
        o.tls,
        'POST',
        JSON.stringify({ sha256 }),
        {
          'content-type': 'application/json',
        },
      ),
    );
    rmSync(recordPath, { force: true });
    return { path: o.path, size: before.size, sha256, uploadId: rec.uploadId, resumedFrom };
  } finally {
    await f.fh.close();
  }
}
