import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '@palisade/common';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { createLogger } from './logger.js';
import type { ServerOptions } from './options.js';
import { urlHost } from './start-server.js';
import { defaultStandbyPort, telemetryOptions } from './telemetry/listener-options.js';
import { SessionTable } from './telemetry/session-table.js';
import { TELEMETRY_PATH, startTelemetryService } from './telemetry/service.js';
import { startSessionRevalidation } from './telemetry/session-revalidation.js';
import { ServerTls } from './tls/server-tls.js';

/** RunningStandby is a standby-only server: one telemetry listener and its storage. */
export interface RunningStandby {
  /** wss://host:port/v1/telemetry of the standby listener. */
  standbyUrl: string;
  dataDir: string;
  /** Agents connected to this standby (channel 'standby'). */
  sessions: SessionTable;
  close(): Promise<void>;
}

/**
 * startStandbyServer runs ONLY the standby telemetry listener (`palisade server --standby-only`),
 * against the storage of a primary server: with the embedded SQLite store that is the primary's
 * data directory on the same host (same CA, same database file; SQLite serialises the two
 * writers and its per-agent sequence key keeps storage exactly-once). It holds only what it needs:
 * the CA certificate (`tls/ca.pem`, to verify agents), its server certificate and key
 * (`tls/server.pem`, `tls/server-key.pem`, or `--tls-cert`/`--tls-key`) and the database; never
 * the CA's private key, and it never writes TLS files. It re-reads them while it runs (a primary
 * on the same data directory renews the server certificate), and re-validates its open sessions
 * against storage every few seconds, so a revocation or decommission made through the primary's
 * API closes them. It refuses a data directory the primary has not initialised.
 */
export async function startStandbyServer(opts: ServerOptions): Promise<RunningStandby> {
  const clock = opts.clock ?? systemClock;
  const logger = createLogger(opts.logLevel, opts.logDestination).child({ role: 'standby' });
  const host = opts.host ?? '127.0.0.1';
  for (const f of [
    join('tls', 'ca.pem'),
    ...(opts.tlsCertFile ? [] : [join('tls', 'server.pem'), join('tls', 'server-key.pem')]),
    ...(opts.storage ? [] : ['palisade.db']),
  ]) {
    if (!existsSync(join(opts.dataDir, f))) {
      throw new Error(
        `standby-only: ${join(opts.dataDir, f)} is missing; point --data-dir at a data directory a primary server has initialised`,
      );
    }
  }
  const tls = await ServerTls.open({ ...opts, role: 'standby', clock, logger: logger.child({ svc: 'tls' }) });
  const ownsStorage = !opts.storage;
  const storage =
    opts.storage ?? (await openSqliteStorage({ path: join(opts.dataDir, 'palisade.db'), clock, logger }));
  const sessions = new SessionTable();
  let stopRevalidation: (() => void) | undefined;
  try {
    const listener = await startTelemetryService({
      ...telemetryOptions(opts, {
        host,
        tls,
        storage,
        sessions,
        clock,
        logger,
        heartbeatIntervalS: opts.heartbeatIntervalS ?? 30,
      }),
      port: defaultStandbyPort(opts),
      channel: 'standby',
    });
    tls.start(opts.tlsCheckIntervalMs);
    stopRevalidation = startSessionRevalidation({
      sessions,
      storage,
      clock,
      logger: logger.child({ svc: 'sessions' }),
      intervalMs: opts.sessionRecheckMs,
    });
    const standbyUrl = `wss://${urlHost(opts.publicHost ?? host)}:${listener.port}${TELEMETRY_PATH}`;
    logger.info({ standbyUrl, dataDir: opts.dataDir }, 'standby listening');
    let closing: Promise<void> | undefined;
    return {
      standbyUrl,
      dataDir: opts.dataDir,
      sessions,
      close() {
        closing ??= (async () => {
          tls.stop();
          stopRevalidation?.();
          await listener.close();
          if (ownsStorage) await storage.close();
          logger.info({}, 'standby stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    tls.stop();
    stopRevalidation?.();
    if (ownsStorage) await storage.close().catch(() => {});
    throw err;
  }
}
