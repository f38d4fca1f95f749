import { join } from 'node:path';
import type { Logger } from '@palisade/common';
import { rateLimitedLogger, silentLogger } from '@palisade/common';
import type { CheckInResponse, Event, Policy, Tier } from '@palisade/protocol';
import { buildSensorStats, collectCapabilities } from './agent-stats.js';
import { ensureStateDir, saveIdentity } from './identity/identity-store.js';
import { obtainIdentity } from './identity/obtain-identity.js';
import { lockStateDir } from './state-lock.js';
import { DEFAULT_TIER, PolicyState, type TierName, tierFromName, tierName } from './policy/policy-state.js';
import { loadSavedPolicy, savePolicy } from './policy/policy-file.js';
import type { AuthSourcesConfig } from './config/agent-config.js';
import { defaultSensors } from './sensors/default-sensors.js';
import type { Sensor } from './sensors/sensor.js';
import { Spool, type SpoolOptions, type SpoolStats } from './spool/index.js';
import { CheckInLoop } from './transport/checkin-loop.js';
import type { TlsMaterial } from './transport/https-client.js';
import { type Channel, TelemetryClient } from './transport/telemetry-client.js';

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
  logger?: Logger;
  /** Spool tuning (caps, batching); dir is always `<stateDir>/spool`. */
  spool?: Omit<SpoolOptions, 'dir' | 'logger'>;
  /** @default 60000 */
  checkInIntervalMs?: number;
  /** Telemetry tuning (see TelemetryClientOptions). */
  maxInFlight?: number;
  ackTimeoutMs?: number;
  connectTimeoutMs?: number;
  failbackProbeMs?: number;
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
  let identity = await obtainIdentity({
    stateDir: opts.stateDir,
    serverUrl: opts.serverUrl,
    registrationKey: opts.registrationKey,
    caPem: opts.caPem,
    signal: opts.signal,
    // Its retries quote the registration service's answers.
    logger: rateLimitedLogger(log),
  });
  const alog = log.child({ agentId: identity.agentId });
  const tls: TlsMaterial = { ca: identity.caPem, cert: identity.certPem, key: identity.keyPem };
  const spool = Spool.open({ ...opts.spool, dir: join(opts.stateDir, 'spool'), logger: alog });
  const sensors =
    opts.sensors ??
    defaultSensors({
      ownPids: [process.pid],
      kernelSensor: opts.kernelSensor ?? true,
      stateDir: opts.stateDir,
      tier: opts.tier ? tierFromName(opts.tier) : DEFAULT_TIER,
      ...(opts.auth ? { auth: opts.auth } : {}),
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
  const onCheckIn = (res: CheckInResponse) => {
    if (res.policy) applyPolicy(res.policy);
    const ep = res.endpoints;
    if (
      ep?.telemetryPrimaryUrl &&
      (ep.telemetryPrimaryUrl !== identity.telemetryPrimaryUrl ||
        ep.telemetryStandbyUrl !== identity.telemetryStandbyUrl)
    ) {
      identity = {
        ...identity,
        telemetryPrimaryUrl: ep.telemetryPrimaryUrl,
        telemetryStandbyUrl: ep.telemetryStandbyUrl,
      };
      saveIdentity(opts.stateDir, identity);
      alog.info(
        { primary: ep.telemetryPrimaryUrl, standby: ep.telemetryStandbyUrl },
        'telemetry endpoints updated',
      );
    }
  };

  // Sensors first: they never wait for the network, events go to the spool from the start.
  let sinkErrors = 0;
  const sink = (ev: Event) => {
    try {
      spool.append(ev);
    } catch (err) {
      if (sinkErrors++ % 1000 === 0) alog.error({ err: (err as Error).message }, 'could not spool an event');
    }
  };
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

  const checkins = new CheckInLoop({
    registrationUrl: identity.registrationUrl,
    tls,
    report: () => ({
      policyRevision: policy.revision,
      capabilities: collectCapabilities(sensors),
      stats: stats(),
    }),
    onResponse: onCheckIn,
    // Its failures quote the server's answers.
    logger: rateLimitedLogger(alog),
    intervalMs: opts.checkInIntervalMs,
  });
  checkins.start();
  // Learn endpoints and policy before connecting when the server answers quickly; never block on it.
  await Promise.race([checkins.firstAttempt, new Promise((r) => setTimeout(r, 3000).unref())]);

  const telemetry = new TelemetryClient({
    endpoints: () => ({ primary: identity.telemetryPrimaryUrl, standby: identity.telemetryStandbyUrl }),
    tls,
    spool,
    hooks: {
      capabilities: () => collectCapabilities(sensors),
      stats,
      policyRevision: () => policy.revision,
      onPolicy: applyPolicy,
    },
    logger: alog,
    maxInFlight: opts.maxInFlight,
    ackTimeoutMs: opts.ackTimeoutMs,
    connectTimeoutMs: opts.connectTimeoutMs,
    failbackProbeMs: opts.failbackProbeMs,
  });
  telemetry.start();
  alog.info(
    { stateDir: opts.stateDir, tier: tierName(policy.tier), sensors: sensors.map((s) => s.name) },
    'agent started',
  );

  let stopping: Promise<void> | undefined;
  return {
    agentId: identity.agentId,
    stateDir: opts.stateDir,
    channel: () => telemetry.channel,
    tier: () => policy.tier,
    policyRevision: () => policy.revision,
    spoolStats: () => spool.stats(),
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
          i < 40 && telemetry.channel !== 'disconnected' && spool.stats().unackedBatches > 0;
          i++
        ) {
          await new Promise((r) => setTimeout(r, 50));
        }
        checkins.stop();
        await telemetry.stop();
        spool.close();
        unlock();
        alog.info({}, 'agent stopped');
      })();
      return stopping;
    },
  };
}
