import { collectCommand } from './files/collect-command.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Backoff,
  type Clock,
  type Logger,
  rateLimitedLogger,
  silentLogger,
  systemClock,
} from '@palisade/common';
import {
  type CheckInResponse,
  type Endpoints,
  EndpointsSchema,
  type Event,
  type IsolationStatus,
  type Policy,
  type RestoreCodeVerifier,
  type Tier,
} from '@palisade/protocol';
import { buildSensorStats, collectCapabilities } from './agent-stats.js';
import { CredentialManager } from './identity/credential-manager.js';
import { ensureStateDir } from './identity/identity-store.js';
import { obtainIdentity } from './identity/obtain-identity.js';
import { lockStateDir } from './state-lock.js';
import { DEFAULT_TIER, PolicyState, type TierName, tierFromName, tierName } from './policy/policy-state.js';
import { loadSavedPolicy, savePolicy } from './policy/policy-file.js';
import type { AuthSourcesConfig, SensorTuning } from './config/agent-config.js';
import { defaultSensors } from './sensors/default-sensors.js';
import type { Sensor } from './sensors/sensor.js';
import { Spool, SpoolCipher, type SpoolOptions, type SpoolStats } from './spool/index.js';
import { loadOrCreateSpoolKey } from './identity/spool-key.js';
import { startStatusFile } from './status/status-file.js';
import { CheckInLoop } from './transport/checkin-loop.js';
import { type Channel, TelemetryClient } from './transport/telemetry-client.js';
import { checkIn } from './transport/checkin.js';
import type { IsolationBackend } from './isolation/isolation-backend.js';
import { IsolationController } from './isolation/isolation-controller.js';
import { defaultIsolationBackend } from './isolation/platform-backend.js';
import { CommandJournal } from './response/command-journal.js';
import { CommandRunner } from './response/command-runner.js';
import { startControlSocket } from './response/control-socket.js';
import { restoreWithCode } from './response/offline-restore.js';
import { platformResponse } from './response/platform-actions.js';
import { RestoreCodeStore } from './response/restore-code-store.js';

/** IsolationOptions tune host isolation (docs/response.md). */
export interface IsolationOptions {
  /** The platform mechanism; default: nftables on Linux. */
  backend?: IsolationBackend;
  /** How long the backend may take to answer through new rules before they are reverted. @default 30000 */
  selfTestTimeoutMs?: number;
  /** How often backend host names are resolved again while isolated. @default 60000 */
  resolveIntervalMs?: number;
  /** Test runs only (PALISADE_ISOLATION_TEST=1): addresses to allow instead of the backend's. */
  testBackendOverride?: string[];
}

/** AGENT_ROOT is the agent's installed program (apps/agent): response actions never touch it. */
const AGENT_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** endpointUrls lists every URL an Endpoints message names (new endpoint kinds join by themselves). */
export function endpointUrls(ep: Endpoints | undefined): string[] {
  if (!ep) return [];
  const out: string[] = [];
  for (const f of EndpointsSchema.fields) {
    const v = (ep as unknown as Record<string, unknown>)[f.localName];
    if (f.fieldKind === 'scalar' && typeof v === 'string' && v) out.push(v);
  }
  return out;
}

/** AgentOptions configure startAgent. Only stateDir is required once the agent is registered. */
export interface AgentOptions {
  /** Identity and spool live here (created 0700). */
  stateDir: string;
  /** Registration service URL; needed for the first registration. */
  serverUrl?: string;
  /**
   * Registration key, or a function that reads it (called only when the agent is not registered
   * yet, so a key file removed after enrolment does not stop later starts).
   */
  registrationKey?: string | (() => string | undefined);
  /** CA PEM trusted for the first registration (afterwards the CA from the server is pinned). */
  caPem?: string;
  /** Aborts a first registration that is still waiting for the server. */
  signal?: AbortSignal;
  /** Local tier override; otherwise the server policy decides. */
  tier?: TierName;
  /** Sensors to run; default: defaultSensors() (eBPF and auth). */
  sensors?: Sensor[];
  /** False forces driverless mode (no kernel sensor). @default true */
  kernelSensor?: boolean;
  /** Overrides of the auth sensor's sources. */
  auth?: AuthSourcesConfig;
  /** Kernel sensor tuning (config file `sensor:`). */
  sensorTuning?: SensorTuning;
  logger?: Logger;
  /** How often the status file (`palisade agent status`) is written, ms. @default 5000 */
  statusIntervalMs?: number;
  /** Spool tuning (caps, batching); dir is always `<stateDir>/spool`. */
  spool?: Omit<SpoolOptions, 'dir' | 'logger'>;
  /** @default 60000 */
  checkInIntervalMs?: number;
  /** Telemetry tuning (see TelemetryClientOptions). */
  maxInFlight?: number;
  ackTimeoutMs?: number;
  connectTimeoutMs?: number;
  failbackProbeMs?: number;
  /** The clock of the certificate renewal schedule. @default the system clock */
  clock?: Clock;
  /** Pause after the server refused the credential (check-in and telemetry). @default 30 s doubling to 30 min */
  refusedBackoff?: () => Backoff;
  /** Host isolation tuning. */
  isolation?: IsolationOptions;
}

/** RunningAgent is a started agent. */
export interface RunningAgent {
  readonly agentId: string;
  readonly stateDir: string;
  /** The telemetry listener in use. */
  channel(): Channel;
  tier(): Tier;
  policyRevision(): bigint;
  spoolStats(): SpoolStats;
  /** The host's actual isolation state. */
  isolation(): IsolationStatus;
  /** Sets or clears the local tier override (config reload). */
  setTierOverride(tier: TierName | undefined): void;
  /** Seals the events collected so far into a batch now. */
  flush(): void;
  /** Stops sensors, seals and saves the spool, closes connections. Idempotent. */
  stop(): Promise<void>;
}

/**
 * startAgent registers (first run only), opens the spool, starts the sensors feeding it, checks in
 * and streams spooled batches to the telemetry service until stop() is called.
 */
export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.logger ?? silentLogger;
  ensureStateDir(opts.stateDir);
  const unlock = lockStateDir(opts.stateDir, log);
  try {
    return await run(opts, log, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

/** run is startAgent once the state directory is locked. */
async function run(opts: AgentOptions, log: Logger, unlock: () => void): Promise<RunningAgent> {
  const identity = await obtainIdentity({
    stateDir: opts.stateDir,
    serverUrl: opts.serverUrl,
    registrationKey: opts.registrationKey,
    caPem: opts.caPem,
    signal: opts.signal,
    // Its retries quote the registration service's answers.
    logger: rateLimitedLogger(log),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const alog = log.child({ agentId: identity.agentId });
  let telemetry: TelemetryClient | undefined;
  const credentials = new CredentialManager({
    stateDir: opts.stateDir,
    identity,
    clock: opts.clock ?? systemClock,
    logger: alog.child({ svc: 'credential' }),
    onPairChanged: () => telemetry?.reconnect(),
  });
  // Every connection presents and trusts what the credential manager holds now.
  const tls = credentials.tls;
  // Segments and state are encrypted at rest with the key in the state directory (ADR 0032).
  const spool = Spool.open({
    ...opts.spool,
    dir: join(opts.stateDir, 'spool'),
    cipher: new SpoolCipher(loadOrCreateSpoolKey(opts.stateDir)),
    logger: alog,
  });
  const sensors =
    opts.sensors ??
    defaultSensors({
      ownPids: [process.pid],
      kernelSensor: opts.kernelSensor ?? true,
      stateDir: opts.stateDir,
      tier: opts.tier ? tierFromName(opts.tier) : DEFAULT_TIER,
      ...(opts.auth ? { auth: opts.auth } : {}),
      ...(opts.sensorTuning ? { tuning: opts.sensorTuning } : {}),
      logger: alog,
    });
  const policy = new PolicyState((tier) => {
    alog.info({ tier: tierName(tier) }, 'telemetry tier changed');
    for (const s of sensors) {
      try {
        s.setTier(tier);
      } catch (err) {
        alog.error({ sensor: s.name, err: (err as Error).message }, 'sensor could not change tier');
      }
    }
  }, opts.tier);
  const saved = loadSavedPolicy(opts.stateDir);
  if (saved) policy.setServerPolicy(saved);
  const stats = () => buildSensorStats(sensors, spool.stats());
  let sinkErrors = 0;
  const sink = (ev: Event) => {
    try {
      spool.append(ev);
    } catch (err) {
      if (sinkErrors++ % 1000 === 0) alog.error({ err: (err as Error).message }, 'could not spool an event');
    }
  };

  // Isolation comes first: a host that must be isolated is, before any sensor or connection.
  const protectedPaths = [opts.stateDir, AGENT_ROOT, process.execPath];
  const platform = platformResponse({
    dir: join(opts.stateDir, 'quarantine'),
    protectedPaths: () => protectedPaths,
  });
  const self = platform.self;
  const restoreCodes = new RestoreCodeStore(opts.stateDir);
  let checkinEndpoints: string[] = [];
  let checkins: CheckInLoop | undefined;
  let onCheckIn: (res: CheckInResponse) => void = () => {};
  const isolationStatus = () =>
    isolation.status({ restoreCodeId: restoreCodes.codeId, restoreCodeFailures: restoreCodes.failures });
  const report = () => ({
    policyRevision: policy.revision,
    capabilities: collectCapabilities(sensors),
    stats: stats(),
    isolation: isolationStatus(),
    self: self(),
    pinnedCaSha256: credentials.pinnedCaSha256(),
  });
  const selfTestMs = opts.isolation?.selfTestTimeoutMs ?? 30_000;
  const isolation: IsolationController = new IsolationController({
    stateDir: opts.stateDir,
    backend: opts.isolation?.backend ?? defaultIsolationBackend(),
    endpointUrls: () => [
      credentials.identity.registrationUrl,
      credentials.identity.telemetryPrimaryUrl,
      credentials.identity.telemetryStandbyUrl,
      ...checkinEndpoints,
    ],
    // A real check-in round trip, on a new connection, through the rules just applied.
    selfTest: async () => {
      const res = await checkIn(
        credentials.identity.registrationUrl,
        tls,
        report(),
        Math.min(5000, selfTestMs),
        true,
      );
      onCheckIn(res);
    },
    selfTestTimeoutMs: selfTestMs,
    resolveIntervalMs: opts.isolation?.resolveIntervalMs,
    logger: alog,
    emit: sink,
    onChange: () => {
      telemetry?.heartbeatNow();
      checkins?.now();
    },
    ...(opts.isolation?.testBackendOverride
      ? { testBackendOverride: opts.isolation.testBackendOverride }
      : {}),
  });
  await isolation.start();
  const onRestoreCode = (v: RestoreCodeVerifier) => {
    const bad = restoreCodes.setVerifier(v);
    if (bad) alog.warn({ err: bad }, 'restore code verifier from the server refused');
  };
  const control = await startControlSocket(
    opts.stateDir,
    { restore: (code) => restoreWithCode(code, restoreCodes, isolation) },
    alog,
  ).catch((err: Error) => {
    alog.error(
      { err: err.message },
      'control socket not available: the offline restore code works only with the agent stopped',
    );
    return undefined;
  });

  const applyPolicy = (p: Policy) => {
    const before = policy.revision;
    if (!policy.setServerPolicy(p)) return;
    alog.debug({ revision: p.revision.toString() }, 'policy received');
    if (p.revision !== before) {
      try {
        savePolicy(opts.stateDir, p);
      } catch (err) {
        alog.warn({ err: (err as Error).message }, 'could not save the policy');
      }
    }
  };
  // The file receiver named by the latest check-in (collect_file uploads there).
  let filesUrl = '';
  const runner = new CommandRunner({
    journal: new CommandJournal(opts.stateDir),
    isolation,
    restoreCodes,
    actions: platform.actions,
    collect: collectCommand({
      stateDir: opts.stateDir,
      tls,
      filesUrl: () => filesUrl,
      logger: alog.child({ svc: 'files' }),
    }),
    onPolicy: (p) => applyPolicy(p),
    emit: sink,
    logger: alog,
  });
  onCheckIn = (res: CheckInResponse) => {
    if (res.policy) applyPolicy(res.policy);
    // Never awaited here: the isolation self-test itself checks in.
    if (res.isolation) void isolation.setDesired(res.isolation);
    if (res.restoreCode) onRestoreCode(res.restoreCode);
    checkinEndpoints = endpointUrls(res.endpoints);
    if (res.endpoints?.filesUrl) filesUrl = res.endpoints.filesUrl;
    const ep = res.endpoints;
    if (ep?.telemetryPrimaryUrl && credentials.setEndpoints(ep.telemetryPrimaryUrl, ep.telemetryStandbyUrl)) {
      alog.info(
        { primary: ep.telemetryPrimaryUrl, standby: ep.telemetryStandbyUrl },
        'telemetry endpoints updated',
      );
    }
  };

  // Sensors next: they never wait for the network, events go to the spool from the start.
  for (const s of sensors) {
    try {
      s.setTier(policy.tier);
      await s.start(sink);
    } catch (err) {
      alog.error(
        { sensor: s.name, err: (err as Error).message },
        'sensor failed to start; continuing without it',
      );
    }
  }

  checkins = new CheckInLoop({
    registrationUrl: identity.registrationUrl,
    tls,
    report,
    onResponse: (res) => {
      onCheckIn(res);
      // Confirm a renewed certificate, pin a delivered CA bundle, renew when due.
      return credentials.afterCheckIn(res);
    },
    onRefused: () => credentials.onRefused(),
    // Its failures quote the server's answers.
    logger: rateLimitedLogger(alog),
    intervalMs: opts.checkInIntervalMs,
    ...(opts.refusedBackoff ? { refusedBackoff: opts.refusedBackoff() } : {}),
  });
  checkins.start();
  // Learn endpoints and policy before connecting when the server answers quickly; never block on it.
  await Promise.race([checkins.firstAttempt, new Promise((r) => setTimeout(r, 3000).unref())]);

  telemetry = new TelemetryClient({
    endpoints: () => ({
      primary: credentials.identity.telemetryPrimaryUrl,
      standby: credentials.identity.telemetryStandbyUrl,
    }),
    tls,
    spool,
    hooks: {
      capabilities: () => collectCapabilities(sensors),
      stats,
      policyRevision: () => policy.revision,
      onPolicy: applyPolicy,
      isolation: isolationStatus,
      self,
      onWelcome: (w) => {
        if (w.isolation) void isolation.setDesired(w.isolation);
        if (w.restoreCode) onRestoreCode(w.restoreCode);
      },
      onCommand: (c, reply) => runner.handle(c, reply),
    },
    logger: alog,
    maxInFlight: opts.maxInFlight,
    ackTimeoutMs: opts.ackTimeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs,
    failbackProbeMs: opts.failbackProbeMs,
    onCredentialRefused: () => {
      const switched = credentials.onRefused();
      // Back on the previous certificate: check in with it now (it confirms it is still accepted).
      if (switched) checkins?.now();
      return switched;
    },
    ...(opts.refusedBackoff ? { refusedBackoff: opts.refusedBackoff() } : {}),
  });
  telemetry.start();
  const started = { checkins, telemetry };
  const startedAt = Date.now();
  // What `palisade agent status` shows: a root-only file in the state directory.
  const status = startStatusFile(
    opts.stateDir,
    () => {
      const sp = spool.stats();
      return {
        agentId: identity.agentId,
        startedAt,
        connection: started.telemetry.channel,
        tier: tierName(policy.tier),
        policyRevision: policy.revision.toString(),
        spool: {
          pendingEvents: sp.pendingEvents,
          unackedEvents: sp.unackedEvents,
          unackedBatches: sp.unackedBatches,
          bytes: sp.bytes,
          oldestUnsentMs: sp.oldestUnsentMs,
          droppedEvents: sp.drops.events,
          droppedBatches: sp.drops.batches,
          corruptRecords: sp.corruptRecords,
        },
        sensors: sensors.map((s) => {
          try {
            return { name: s.name, ...s.counters() };
          } catch {
            return { name: s.name, eventsEmitted: 0, drops: 0, restarts: 0 };
          }
        }),
      };
    },
    alog,
    opts.statusIntervalMs,
  );
  alog.info(
    { stateDir: opts.stateDir, tier: tierName(policy.tier), sensors: sensors.map((s) => s.name) },
    'agent started',
  );

  let stopping: Promise<void> | undefined;
  return {
    agentId: identity.agentId,
    stateDir: opts.stateDir,
    channel: () => started.telemetry.channel,
    tier: () => policy.tier,
    policyRevision: () => policy.revision,
    spoolStats: () => spool.stats(),
    isolation: isolationStatus,
    setTierOverride: (t) => policy.setOverride(t),
    flush: () => spool.seal(),
    stop: () => {
      stopping ??= (async () => {
        for (const s of sensors) {
          try {
            await s.stop();
          } catch (err) {
            alog.warn({ sensor: s.name, err: (err as Error).message }, 'sensor did not stop cleanly');
          }
        }
        spool.seal();
        // Give what is already sent or sealed a moment to be acked, so a clean stop leaves little to resend.
        for (
          let i = 0;
          i < 40 && started.telemetry.channel !== 'disconnected' && spool.stats().unackedBatches > 0;
          i++
        ) {
          await new Promise((r) => setTimeout(r, 50));
        }
        started.checkins.stop();
        await started.telemetry.stop();
        await control?.close();
        // The isolation rules stay in the kernel: stopping the agent never opens the host.
        await isolation.stop();
        status.stop();
        spool.close();
        unlock();
        alog.info({}, 'agent stopped');
      })();
      return stopping;
    },
  };
}
