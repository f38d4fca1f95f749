import { Worker } from 'node:worker_threads';
import { PalisadeError } from '@palisade/common';
import type { BatchResult } from '@palisade/storage';
import type { BatchRow } from './batch-encoding.js';
import type { WriterReply, WriterRequest } from './writer-protocol.js';

interface Pending {
  resolve: (r: BatchResult[]) => void;
  reject: (e: Error) => void;
}

/**
 * WriterThread runs batch writes on a worker thread (see writer-thread.ts) and resolves each
 * write once its transaction has committed (and been fsynced) there. The worker only keeps the
 * process alive while writes are pending.
 */
export class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  private closing = false;
  private readonly exited: Promise<void>;
  /** ready resolves once the writer thread has opened the database, rejects if it could not. */
  readonly ready: Promise<void>;

  constructor(path: string) {
    this.worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: { path } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('error', reject);
      this.worker.once('exit', () =>
        reject(this.failure ?? new Error('writer thread exited while starting')),
      );
    });
    this.worker.on('message', (reply: WriterReply) => {
      if (reply !== 'ready') this.onReply(reply);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.fail(new Error(`writer thread exited with code ${code}`));
        resolve();
      }),
    );
  }

  /** write posts the rows to the writer thread and resolves with their results once committed. */
  write(rows: BatchRow[]): Promise<BatchResult[]> {
    if (this.closing) return Promise.reject(new PalisadeError('unavailable', 'storage is closed'));
    if (this.failure) {
      return Promise.reject(
        new PalisadeError('unavailable', `storage writer is not running: ${this.failure.message}`),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ type: 'write', id, rows } satisfies WriterRequest);
    });
  }

  /** close lets pending writes finish, then closes the writer's connection and ends the thread. */
  async close(): Promise<void> {
    if (!this.failure && !this.closing) {
      // Stay referenced until the thread has exited, so the process waits for pending writes.
      this.closing = true;
      this.worker.ref();
      this.worker.postMessage({ type: 'close' } satisfies WriterRequest);
    }
    await this.exited;
  }

  private onReply(reply: Exclude<WriterReply, 'ready'>): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref();
    if ('results' in reply) {
      p.resolve(reply.results);
      return;
    }
    const { message, palisadeCode, sqliteCode } = reply.error;
    if (palisadeCode) p.reject(new PalisadeError(palisadeCode, message));
    else p.reject(Object.assign(new Error(message), sqliteCode ? { code: sqliteCode } : {}));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) {
      p.reject(
        new PalisadeError(
          'unavailable',
          `storage writer stopped: ${err.message}; the batch was not acknowledged`,
        ),
      );
    }
    this.pending.clear();
  }
}
