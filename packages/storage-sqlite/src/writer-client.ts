import { Worker } from 'node:worker_threads';
import { Backoff, type Logger, PalisadeError, silentLogger } from '@palisade/common';
import type { BatchResult, StorageHealth } from '@palisade/storage';
import type { BatchRow } from './batch-encoding.js';
import type { WriterReply, WriterRequest } from './writer-protocol.js';

interface Pending {
  resolve: (r: BatchResult[]) => void;
  reject: (e: Error) => void;
}

/** WriterThreadOptions tune the writer thread. */
export interface WriterThreadOptions {
  logger?: Logger;
  /** Delay before a dead writer thread is started again, growing while restarts fail. @default 100 ms to 10 s */
  restartBackoff?: { initialMs?: number; maxMs?: number };
  now?: () => number;
}

/**
 * WriterThread runs batch writes on a worker thread (see writer-thread.ts) and resolves each
 * write once its transaction has committed (and been fsynced) there. The worker only keeps the
 * process alive while writes are pending.
 *
 * A writer thread that dies (an uncaught error, running out of memory, terminated) is started
 * again, with backoff while restarts keep failing. The writes it had taken are rejected as
 * `unavailable`: they were not acknowledged, so agents send them again, and a batch that had been
 * committed just before the thread died is then found stored and acked as a duplicate. While it
 * restarts, writes are refused the same way. The death is logged once, at error level; the
 * recovery once, at warn.
 */
export class WriterThread {
  private worker!: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private state: StorageHealth['writer'] | 'starting' = 'starting';
  private restarts = 0;
  private lastError: string | undefined;
  private failingSince: number | undefined;
  private closing = false;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly now: () => number;
  /** ready resolves once the writer thread has opened the database, rejects if it could not. */
  readonly ready: Promise<void>;

  constructor(
    private readonly path: string,
    o: WriterThreadOptions = {},
  ) {
    this.log = o.logger ?? silentLogger;
    this.now = o.now ?? Date.now;
    this.backoff = new Backoff({
      initialMs: o.restartBackoff?.initialMs ?? 100,
      maxMs: o.restartBackoff?.maxMs ?? 10_000,
    });
    this.ready = this.spawn();
  }

  /** health says whether writes can be committed now, and how the writer fared. */
  health(): StorageHealth {
    return {
      writer: this.state === 'starting' ? 'restarting' : this.state,
      restarts: this.restarts,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.failingSince !== undefined ? { failingSince: this.failingSince } : {}),
    };
  }

  private spawn(): Promise<void> {
    const worker = new Worker(new URL('./writer-thread.js', import.meta.url), {
      workerData: { path: this.path },
    });
    this.worker = worker;
    const ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: WriterReply) => {
        if (reply !== 'ready') return this.onReply(reply);
        this.onReady(worker);
        resolve();
      });
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`writer thread exited with code ${code} while starting`)),
      );
    });
    worker.on('error', (err) => this.onDeath(worker, err));
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        this.onDeath(worker, new Error(`writer thread exited with code ${code}`));
        resolve();
      }),
    );
    return ready;
  }

  private onReady(worker: Worker): void {
    if (worker !== this.worker) return;
    const wasFailing = this.failingSince;
    this.state = 'running';
    this.backoff.reset();
    if (this.pending.size === 0) worker.unref();
    if (wasFailing !== undefined) {
      this.failingSince = undefined;
      this.log.warn(
        { restarts: this.restarts, downMs: this.now() - wasFailing },
        'storage writer thread restarted; batches are being stored again',
      );
    }
  }

  private onDeath(worker: Worker, err: Error): void {
    if (worker !== this.worker || this.state === 'stopped' || this.state === 'restarting') return;
    const starting = this.state === 'starting';
    this.rejectPending(err);
    if (this.closing || (starting && this.restarts === 0)) {
      // Closed on purpose, or it never started: openSqliteStorage reports that one itself.
      this.state = 'stopped';
      return;
    }
    this.state = 'restarting';
    this.lastError = err.message;
    if (this.failingSince === undefined) {
      this.failingSince = this.now();
      this.log.error(
        { err: err.message, restarts: this.restarts },
        'storage writer thread died: batches in its queue were not acknowledged (agents send them again); restarting it',
      );
    } else
      this.log.debug({ err: err.message, restarts: this.restarts }, 'storage writer thread restart failed');
    const delay = this.backoff.next();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closing) return;
      this.restarts++;
      this.state = 'starting';
      // A failed start ends in onDeath (exit), which schedules the next attempt.
      this.spawn().catch(() => {});
    }, delay);
    this.restartTimer.unref();
  }

  /**
   * killForTesting terminates the writer thread the way a crash would (fault injection for
   * tests); it is restarted like after any other death.
   */
  async killForTesting(): Promise<void> {
    await this.worker.terminate();
  }

  /** write posts the rows to the writer thread and resolves with their results once committed. */
  write(rows: BatchRow[]): Promise<BatchResult[]> {
    if (this.closing) return Promise.reject(new PalisadeError('unavailable', 'storage is closed'));
    if (this.state !== 'running') {
      return Promise.reject(
        new PalisadeError(
          'unavailable',
          `storage writer is ${this.state === 'stopped' ? 'stopped' : 'restarting'}${this.lastError ? ` (${this.lastError})` : ''}; the batch was not acknowledged`,
        ),
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
    if (this.closing) return this.exited;
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.state === 'running') {
      // Stay referenced until the thread has exited, so the process waits for pending writes.
      this.worker.ref();
      this.worker.postMessage({ type: 'close' } satisfies WriterRequest);
    } else if (this.state === 'starting') await this.worker.terminate();
    await this.exited;
    this.state = 'stopped';
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

  private rejectPending(err: Error): void {
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
