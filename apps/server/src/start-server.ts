import { join } from 'node:path';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { type Clock, systemClock } from '@palisade/common';
import { type Endpoints, EndpointsSchema, create } from '@palisade/protocol';
import type { Storage } from '@palisade/storage';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { ensureDefaults, writeClientConfig } from './bootstrap/first-start.js';
import { AlertBus } from './detection/alert-bus.js';
import { DetectionWorker } from './detection/detection-worker.js';
import { detectionRules } from './detection/rule-paths.js';
import { ensureInitialAdmin } from './bootstrap/initial-admin.js';
import { KeyRotation } from './fleet/key-rotation.js';
import { subscribePlaybooks } from './playbooks/alert-hook.js';
import { createPlaybooks, type Playbooks } from './playbooks/create-playbooks.js';
import { ResponseService } from './response/response-service.js';
import { ensurePrivateDir } from './fs-secure.js';
import { buildRegistrationApp } from './http/registration-app.js';
import { warnAboutFdLimit } from './limits/fd-limit.linux.js';
import { resolveLimits } from './limits/listener-limits.js';
import { TrustedAddresses } from './limits/trusted-addresses.js';
import { createLogger } from './logger.js';
import type { RunningServer, ServerOptions } from './options.js';
import { ServerMetrics } from './metrics/registry.js';
import { SessionTable } from './telemetry/session-table.js';
import { defaultStandbyPort, telemetryOptions } from './telemetry/listener-options.js';
import { TELEMETRY_PATH, startTelemetryService } from './telemetry/service.js';
import { startSessionRevalidation } from './telemetry/session-revalidation.js';
import { ServerTls } from './tls/server-tls.js';
import { resolveFileLimits } from './files/file-limits.js';
import { DEFAULT_FILES_PORT, type FileReceiver, startFileReceiver } from './files/receiver.js';

async function defaultStorage(
  dataDir: string,
  clock: Clock,
  logger: ReturnType<typeof createLogger>,
): Promise<Storage> {
  return openSqliteStorage({ path: join(dataDir, 'palisade.db'), clock, logger });
}

/** defaultFilesPort is 7446 unless the telemetry port was chosen by hand (then a free port, like the standby's). */
function defaultFilesPort(opts: ServerOptions): number {
  if (opts.filesPort !== undefined) return opts.filesPort;
  return opts.telemetryPort === undefined || opts.telemetryPort === 7444 ? DEFAULT_FILES_PORT : 0;
}

/** urlHost is how a host appears in a URL: IPv6 in brackets, wildcard binds as localhost. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return isIP(host) === 6 ? `[${host}]` : host;
}

/**
 * startServer runs the Palisade backend: on first start it creates the CA, server certificate,
 * default group, registration key and admin token in `dataDir`; then it opens the registration
 * service with the admin API (HTTPS) and the telemetry service (WSS).
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const logger = createLogger(opts.logLevel, opts.logDestination);
  const host = opts.host ?? '127.0.0.1';
  const heartbeatIntervalS = opts.heartbeatIntervalS ?? 30;
  // Refuse contradictory limits before anything is created.
  const limits = resolveLimits(opts.limits);
  ensurePrivateDir(opts.dataDir);
  const tls = await ServerTls.open({ ...opts, role: 'primary', clock, logger: logger.child({ svc: 'tls' }) });
  const ownsStorage = !opts.storage;
  const storage = opts.storage ?? (await defaultStorage(opts.dataDir, clock, logger));
  const sessions = new SessionTable();
  const metrics = new ServerMetrics();
  const alerts = new AlertBus(logger.child({ svc: 'alerts' }));
  // Where agents authenticated from lately: their new connections skip the unauthenticated pool on every listener.
  const trusted = new TrustedAddresses();
  let telemetry: Awaited<ReturnType<typeof startTelemetryService>> | undefined;
  let standby: Awaited<ReturnType<typeof startTelemetryService>> | undefined;
  let app: ReturnType<typeof buildRegistrationApp> | undefined;
  let keyRotation: KeyRotation | undefined;
  let stopRevalidation: (() => void) | undefined;
  let response: ResponseService | undefined;
  let playbooks: Playbooks | undefined;
  let detection: DetectionWorker | undefined;
  let files: FileReceiver | undefined;
  const fileLimits = resolveFileLimits(opts.files);
  try {
    await storage.migrate();
    await ensureDefaults(storage, opts.dataDir, clock, logger);
    await ensureInitialAdmin(storage, opts.dataDir, clock, logger);
    response = new ResponseService({
      storage,
      sessions,
      clock,
      logger: logger.child({ svc: 'response' }),
      dataDir: opts.dataDir,
      ...(opts.responseAlerts ? { alerts: opts.responseAlerts } : {}),
      ...(opts.commandExpiryMs ? { commandExpiryMs: opts.commandExpiryMs } : {}),
    });
    response.startExpiry(opts.commandExpiryCheckMs ?? 60_000);
    playbooks = createPlaybooks({
      storage,
      clock,
      logger: logger.child({ svc: 'playbooks' }),
      dataDir: opts.dataDir,
      response,
      ...(opts.playbookIsolationsPerHour !== undefined
        ? { fleetIsolationsPerHour: opts.playbookIsolationsPerHour }
        : {}),
      ...(opts.playbookWebhooks ? { webhooks: opts.playbookWebhooks } : {}),
    });
    subscribePlaybooks(alerts, playbooks.service);
    if (opts.detection?.enabled ?? true) {
      detection = new DetectionWorker({
        storage,
        bus: alerts,
        clock,
        logger: logger.child({ svc: 'detection' }),
        rules: detectionRules(opts.dataDir, opts.detection),
        ...(opts.detection?.groupWindowMs ? { groupWindowMs: opts.detection.groupWindowMs } : {}),
        ...(opts.detection?.idleMs ? { idleMs: opts.detection.idleMs } : {}),
      });
      await detection.start();
    }
    keyRotation = new KeyRotation({
      storage,
      clock,
      logger: logger.child({ svc: 'keys' }),
      dataDir: opts.dataDir,
    });
    keyRotation.start(opts.keyRotationIntervalMs ?? 60 * 60 * 1000);
    // The primary listener and the standby sink share storage, sessions and limits.
    const listenerOptions = telemetryOptions(opts, {
      host,
      tls,
      storage,
      sessions,
      clock,
      logger,
      heartbeatIntervalS,
      trusted,
      response,
    });
    telemetry = await startTelemetryService({
      ...listenerOptions,
      port: opts.telemetryPort ?? 7444,
      metrics: metrics.forListener('primary'),
    });
    const publicHost = urlHost(opts.publicHost ?? host);
    const telemetryUrl = `wss://${publicHost}:${telemetry.port}${TELEMETRY_PATH}`;
    // The standby sink: a second listener on the same storage, unless it runs elsewhere.
    if (!opts.standbyUrl) {
      standby = await startTelemetryService({
        ...listenerOptions,
        port: defaultStandbyPort(opts),
        channel: 'standby',
        metrics: metrics.forListener('standby'),
      });
    }
    metrics.bindSources({
      sessions: () => sessions.all(),
      listeners: () => (standby ? ['primary', 'standby'] : ['primary']),
      queuedBytes: (l) =>
        l === 'standby' ? (standby?.writer.queuedBytes ?? 0) : telemetry!.writer.queuedBytes,
      commandCounts: () => storage.countCommands(),
      storageWriterRunning: () => storage.health().writer === 'running',
    });
    const standbyUrl = opts.standbyUrl ?? `wss://${publicHost}:${standby?.port}${TELEMETRY_PATH}`;
    // The file receiver: its own listener on the same storage, unless it runs elsewhere.
    if (!opts.filesUrl) {
      files = await startFileReceiver({
        host,
        port: defaultFilesPort(opts),
        dataDir: opts.dataDir,
        tls,
        storage,
        clock,
        logger,
        limits,
        files: fileLimits,
        trusted,
      });
    }
    const filesUrl = opts.filesUrl ?? `https://${publicHost}:${files?.port}`;
    let registrationUrl = '';
    const endpoints = (): Endpoints =>
      create(EndpointsSchema, {
        registrationUrl,
        telemetryPrimaryUrl: telemetryUrl,
        telemetryStandbyUrl: standbyUrl,
        filesUrl,
      });
    app = buildRegistrationApp(
      { storage, clock, logger, tls, endpoints, heartbeatIntervalS, response },
      {
        storage,
        clock,
        logger: logger.child({ svc: 'api' }),
        sessions,
        keyRotation,
        tls,
        response,
        playbooks: playbooks.service,
        ...(detection ? { detection } : {}),
        ingest: () => [telemetry!.writer.health(), ...(standby ? [standby.writer.health()] : [])],
        metrics,
        dataDir: opts.dataDir,
      },
      limits,
      trusted,
    );
    await app.instance.listen({ host, port: opts.registrationPort ?? 7443 });
    // Fastify types its server as plain HTTP; with `https` options it is a TLS server.
    tls.attach(app.instance.server as unknown as TlsServer);
    tls.start(opts.tlsCheckIntervalMs);
    stopRevalidation = startSessionRevalidation({
      sessions,
      storage,
      clock,
      logger: logger.child({ svc: 'sessions' }),
      intervalMs: opts.sessionRecheckMs,
    });
    registrationUrl = `https://${publicHost}:${(app.instance.server.address() as AddressInfo).port}`;
    warnAboutFdLimit(limits, !opts.standbyUrl, logger);
    writeClientConfig(opts.dataDir, { apiUrl: registrationUrl, registrationUrl, telemetryUrl });
    logger.info({ registrationUrl, telemetryUrl, standbyUrl, dataDir: opts.dataDir }, 'server listening');
    const running = { telemetry, app, standby, response, playbooks, files };
    let closing: Promise<void> | undefined;
    return {
      registrationUrl,
      telemetryUrl,
      standbyUrl,
      filesUrl,
      ...(files ? { files } : {}),
      get caPem() {
        return tls.material.serverCaPem;
      },
      tls,
      dataDir: opts.dataDir,
      storage,
      sessions,
      response,
      registrationApp: app.instance,
      metrics,
      playbooks: playbooks.service,
      alerts,
      detection,
      ingestStats: () => ({
        ...running.telemetry.writer.stats,
        queuedBytes: running.telemetry.writer.queuedBytes,
        ...running.telemetry.flow.stats,
      }),
      connectionStats: () => ({
        registration: running.app.connections(),
        telemetry: running.telemetry.connections(),
        standby: running.standby?.connections() ?? null,
      }),
      close() {
        closing ??= (async () => {
          tls.stop();
          stopRevalidation?.();
          await running.app.instance.close();
          await running.playbooks.stop();
          running.response.stop();
          await keyRotation?.stop();
          await running.telemetry.close();
          await running.standby?.close();
          await detection?.stop();
          await running.files?.close();
          if (ownsStorage) await storage.close();
          logger.info({}, 'server stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    tls.stop();
    stopRevalidation?.();
    await app?.instance.close().catch(() => {});
    await playbooks?.stop().catch(() => {});
    response?.stop();
    await keyRotation?.stop().catch(() => {});
    await telemetry?.close().catch(() => {});
    await standby?.close().catch(() => {});
    await detection?.stop().catch(() => {});
    await files?.close().catch(() => {});
    if (ownsStorage) await storage.close().catch(() => {});
    throw err;
  }
}
