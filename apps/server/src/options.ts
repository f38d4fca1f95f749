import type { ServerMetrics } from './metrics/registry.js';
import type { AlertBus } from './detection/alert-bus.js';
import type { DetectionWorker } from './detection/detection-worker.js';
import type { Clock } from '@palisade/common';
import type { Storage } from '@palisade/storage';
import type { ListenerLimits } from './limits/listener-limits.js';
import type { GateStats } from './limits/connection-gate.js';
import type { SessionTable } from './telemetry/session-table.js';
import type { ServerTls } from './tls/server-tls.js';
import type { PlaybookService } from './playbooks/playbook-service.js';
import type { WebhookSenderOptions } from './playbooks/webhook-sender.js';
import type { ResponseAlerts } from './response/response-alerts.js';
import type { ResponseService } from './response/response-service.js';

/** ServerOptions configure startServer. Only dataDir is required. */
export interface ServerOptions {
  /** Where the CA, the database and the quickstart secrets live (created 0700). */
  dataDir: string;
  /** Address every listener binds. @default '127.0.0.1' */
  host?: string;
  /** Registration service and admin API (HTTPS). 0 picks a free port. @default 7443 */
  registrationPort?: number;
  /** Telemetry service (WSS). 0 picks a free port. @default 7444 */
  telemetryPort?: number;
  /**
   * Standby telemetry listener (WSS) in this process, same storage. 0 picks a free port.
   * Ignored when standbyUrl is set. @default 7445
   */
  standbyPort?: number;
  /**
   * Standby endpoint agents are told about when the standby runs as its own process or host
   * (`palisade server --standby-only`); this process then opens no standby listener itself.
   */
  standbyUrl?: string;
  /**
   * File receiver (HTTPS, docs/files.md) in this process. 0 picks a free port. Ignored when
   * filesUrl is set. @default 7446 (a free port when telemetryPort is set by hand)
   */
  filesPort?: number;
  /** File receiver URL agents are told about when it runs as its own process (`palisade server --files-only`). */
  filesUrl?: string;
  /** File receiver limits (chunk size, file size, rates, quota). */
  files?: Partial<import('./files/file-limits.js').FileLimits>;
  /** Run only the standby telemetry listener (see startStandbyServer); used by `palisade server`. */
  standbyOnly?: boolean;
  /** Storage back end. @default SQLite at `<dataDir>/palisade.db` */
  storage?: Storage;
  /** @default the system clock */
  clock?: Clock;
  /** pino level. @default 'info' */
  logLevel?: string;
  /** Operator-supplied server certificate and key (PEM files), instead of the self-made ones. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** The CA that signed tlsCertFile, which agents pin. */
  caCertFile?: string;
  /** Host name agents use to reach this server: goes into the certificate and endpoint URLs. */
  publicHost?: string;
  /** Seconds between agent heartbeats. @default 30 */
  heartbeatIntervalS?: number;
  /** How often coalesced heartbeats are written, ms. @default 5000 */
  heartbeatFlushMs?: number;
  /** How often telemetry connections are pinged; a missed pong ends them, ms. @default heartbeat interval */
  livenessIntervalMs?: number;
  /** Group-commit tuning of the telemetry writer (see GroupCommitWriter). */
  ingest?: {
    maxDelayMs?: number;
    maxEvents?: number;
    maxQueuedBytes?: number;
    maxConcurrentWrites?: number;
    /** Batches one agent connection may have unacked (announced in Welcome). @default 8 */
    maxInFlight?: number;
  };
  /**
   * Timeouts, connection caps and registration rate of every listener (ListenerLimits); each
   * field left out has its default (DEFAULT_LIMITS, documented in the README).
   */
  limits?: Partial<ListenerLimits>;
  /**
   * How often the TLS files are re-checked: the self-made server certificate renewed at two thirds
   * of its life, operator-replaced files picked up, ms. @default 5 minutes
   */
  tlsCheckIntervalMs?: number;
  /** How often open telemetry sessions are re-validated against storage (revocation, renewal), ms. @default 5000 */
  sessionRecheckMs?: number;
  /** How often the registration key rotation job checks every group's keys, ms. @default 1 hour */
  keyRotationIntervalMs?: number;
  /** Where logs go. @default stderr */
  logDestination?: NodeJS.WritableStream | number;
  /** How long a response command may wait for its outcome before it expires, ms. @default 14 days */
  commandExpiryMs?: number;
  /** How often expired commands are looked for, ms. @default 60000 */
  commandExpiryCheckMs?: number;
  /** Where response alerts go (isolation reverted, lifted locally). @default error log lines */
  responseAlerts?: ResponseAlerts;
  /** At most this many hosts isolated by all playbooks together in an hour (0: none). @default 10 */
  playbookIsolationsPerHour?: number;
  /** How playbook webhooks are sent (timeouts, retries, queue; http to loopback for tests). */
  playbookWebhooks?: Omit<WebhookSenderOptions, 'logger'>;
  /**
   * Detection: the worker that evaluates stored events against Sigma rules and writes alerts.
   * Rules come from Palisade's default pack (unless `defaultPack: false`), `<dataDir>/rules`
   * (created) and every `rulesDirs` entry. @default enabled, default pack on, 1 h grouping window
   */
  detection?: {
    enabled?: boolean;
    rulesDirs?: string[];
    defaultPack?: boolean;
    disabled?: string[];
    groupWindowMs?: number;
    idleMs?: number;
  };
}

/** RunningServer is a started server. */
export interface RunningServer {
  /** https://host:port of the registration service and admin API. */
  registrationUrl: string;
  /** wss://host:port/v1/telemetry. */
  telemetryUrl: string;
  /** The standby endpoint agents learn at check-in (this process's or the configured standbyUrl). */
  standbyUrl: string;
  /** The file receiver URL agents learn at check-in. */
  filesUrl: string;
  /** The file receiver in this process, when it runs here. */
  files?: import('./files/receiver.js').FileReceiver;
  /** The CAs agents pin (PEM bundle), as of now. */
  readonly caPem: string;
  /** The live TLS material (renewed and re-read while the server runs). */
  tls: ServerTls;
  dataDir: string;
  storage: Storage;
  /** Live telemetry sessions (for commands and connection state). */
  sessions: SessionTable;
  /** Response actions: `response.issue(...)` is the internal entry point playbooks call. */
  response: ResponseService;
  /** The registration listener's Fastify instance (in-process requests: `inject`, as the fuzz targets do). */
  registrationApp: import('fastify').FastifyInstance;
  /** The Prometheus registry served at /metrics (metrics/registry.ts). */
  metrics: ServerMetrics;
  /** Playbooks: `playbooks.onAlert(alert)` runs the matching ones (the alert hook calls it). */
  playbooks: PlaybookService;
  /**
   * Alerts as detection stores them: `alerts.onAlert(listener)` is called with each created or
   * folded alert after its commit (see AlertBus, ARCHITECTURE.md "Alerts").
   */
  alerts: AlertBus;
  /** The detection worker (rule statuses, lag, reload); undefined when detection is off. */
  detection: DetectionWorker | undefined;
  /** ingestStats counts group commits, batches, events and duplicates stored since start (primary listener). */
  ingestStats(): {
    commits: number;
    batches: number;
    events: number;
    duplicates: number;
    refused: number;
    failures: number;
    /** Compressed batch bytes waiting for or in a group commit right now. */
    queuedBytes: number;
    /** FlowControl frames sent to slow agents down, and to give them their window back. */
    slowDowns: number;
    resumes: number;
  };
  /** What each listener's connection caps hold and did (see ConnectionGate). */
  connectionStats(): { registration: GateStats; telemetry: GateStats; standby: GateStats | null };
  close(): Promise<void>;
}
