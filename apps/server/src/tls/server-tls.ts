import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { Clock } from '@palisade/common';
import { type TlsFileOptions, type TlsMaterial, readTlsMaterial } from './tls-files.js';

/** ServerTlsOptions configure the live TLS material of one server process. */
export interface ServerTlsOptions extends TlsFileOptions {
  clock: Clock;
}

/** DEFAULT_TLS_CHECK_MS is how often the TLS files are re-checked while the server runs. @default 5 min */
export const DEFAULT_TLS_CHECK_MS = 5 * 60 * 1000;

/**
 * ServerTls is the TLS material of a running server, kept current: every check re-reads the CA
 * files and the server certificate, renews a self-made server certificate that reached two thirds
 * of its life (primary only), and picks up files an operator replaced (or, for a standby-only
 * process, that the primary renewed in the shared data directory). Every attached listener
 * (registration/API, telemetry, standby) gets the new certificate for its next handshake through
 * `setSecureContext`; open connections keep theirs. A file that does not check out (a key that is
 * not the certificate's, a pair caught halfway through being replaced) is logged and the current
 * material stays in use.
 */
export class ServerTls {
  private listeners = new Set<(m: TlsMaterial) => void>();
  private timer: NodeJS.Timeout | undefined;
  /** The check waiting to start (joined by callers), and the end of the chain of checks. */
  private queued: Promise<boolean> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private lastError = '';

  private constructor(
    private readonly o: ServerTlsOptions,
    private current: TlsMaterial,
  ) {}

  /** open reads (and on a primary's first start creates) the material. Errors are fatal here. */
  static async open(o: ServerTlsOptions): Promise<ServerTls> {
    return new ServerTls(o, await readTlsMaterial(o, o.clock.now()));
  }

  /** dir is the directory of the TLS files (`<dataDir>/tls`). */
  get dir(): string {
    return join(this.o.dataDir, 'tls');
  }

  /** material is the TLS material in use now. */
  get material(): TlsMaterial {
    return this.current;
  }

  /** contextOptions is what a TLS listener needs from the material (key, certificate, client CAs). */
  contextOptions(): { key: string; cert: string; ca: string } {
    return { key: this.current.serverKeyPem, cert: this.current.serverCertPem, ca: this.current.clientCaPem };
  }

  /** onChange calls `fn` with the new material whenever it changes; returns the unsubscribe function. */
  onChange(fn: (m: TlsMaterial) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** attach keeps a listener's certificate current until it closes. */
  attach(server: TlsServer): void {
    const off = this.onChange(() => server.setSecureContext(this.contextOptions()));
    server.once('close', off);
  }

  /** start re-checks every `intervalMs`. */
  start(intervalMs = DEFAULT_TLS_CHECK_MS): void {
    this.stop();
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * check re-reads the material (one check at a time; a call made while one runs gets a fresh one
   * after it, so it sees files changed just before) and tells the listeners when it changed. It
   * never throws: a failure is logged once per distinct message.
   */
  check(): Promise<boolean> {
    this.queued ??= this.tail.then(() => {
      this.queued = undefined;
      return this.checkOnce();
    });
    this.tail = this.queued;
    return this.queued;
  }

  private async checkOnce(): Promise<boolean> {
    let next: TlsMaterial;
    try {
      next = await readTlsMaterial(this.o, this.o.clock.now());
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastError)
        this.o.logger.error({ err: msg }, 'TLS files did not check out; keeping the certificates in use');
      this.lastError = msg;
      return false;
    }
    this.lastError = '';
    const c = this.current;
    const changed =
      next.serverCertPem !== c.serverCertPem ||
      next.serverKeyPem !== c.serverKeyPem ||
      next.clientCaPem !== c.clientCaPem ||
      next.serverCaPem !== c.serverCaPem ||
      next.signer?.certPem !== c.signer?.certPem;
    if (!changed) return false;
    this.current = next;
    this.o.logger.info(
      {
        serverCertNotAfter: new Date(next.serverCertNotAfter).toISOString(),
        cas: next.cas.map((x) => x.role),
      },
      'TLS material changed; listeners use it for new connections',
    );
    for (const fn of this.listeners) {
      try {
        fn(next);
      } catch (err) {
        this.o.logger.error(
          { err: (err as Error).message },
          'a listener could not take the new TLS material',
        );
      }
    }
    return true;
  }
}
