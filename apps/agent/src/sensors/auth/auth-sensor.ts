import { existsSync } from 'node:fs';
import { type Logger, silentLogger } from '@palisade/common';
import {
  type Capability,
  CapabilitySchema,
  create,
  type Event,
  TelemetryKind,
  Tier,
} from '@palisade/protocol';
import type { EventSink, Sensor, SensorCounters } from '../sensor.js';
import { AuditLogSource } from './audit-log-source.js';
import type { AuthSource, AuthSourceOrigin, AuthSourceStats, AuthSourceStatus } from './auth-source.js';
import { FollowStateStore } from './follow-state.js';
import { JournaldSource } from './journald-source.linux.js';
import { LogFileSource } from './log-file-source.js';
import { LoginRecordDedup } from './login-record-dedup.js';
import { UtmpSource } from './utmp-source.linux.js';

/** AuthSensorOptions configure createAuthSensor. Paths exist for tests; defaults fit Debian/RHEL. */
export interface AuthSensorOptions {
  /** Directory for the sensor's small position file (inode + offset per followed file). */
  stateDir: string;
  /** Auth logs to follow; missing ones are waited for. @default ['/var/log/auth.log', '/var/log/secure'] */
  logPaths?: string[];
  /** wtmp to follow, null for none. @default '/var/log/wtmp' */
  wtmpPath?: string | null;
  /** btmp to follow, null for none. @default '/var/log/btmp' */
  btmpPath?: string | null;
  /** auditd's log, read for PAM records when no auth log exists; null for none. @default '/var/log/audit/audit.log' */
  auditLogPath?: string | null;
  /**
   * The systemd journal, read (with palisade-journal or journalctl) while no auth log file is
   * followed: unset for the system journal, a directory for that journal, null for none.
   */
  journalDirectory?: string | null;
  /** See JournaldSourceOptions.readerPath. */
  journalReaderPath?: string;
  /**
   * Which executables count as sshd, su, sudo, login... when a journal record speaks for them
   * (per program, replacing that program's DEFAULT_TRUSTED_PROGRAMS entry).
   */
  trustedPrograms?: Record<string, string[]>;
  /** Further sources (a journald or audit reader); they run beside the built-in ones. */
  sources?: AuthSource[];
  /** The syslog socket whose absence makes the logs go quiet; checked for the report. @default '/dev/log' */
  syslogSocketPath?: string;
  /** Safety poll of each followed file. @default 5000 */
  pollMs?: number;
  /** See LoginRecordDedup. @default 5000 */
  dedupWindowMs?: number;
  /** @default 16384 */
  maxLineBytes?: number;
  logger?: Logger;
}

/** AuthSensorStats are the auth sensor's detailed counters, per source. */
export interface AuthSensorStats {
  sources: Array<{ name: string } & AuthSourceStatus & AuthSourceStats>;
  /** wtmp/btmp records dropped because a log line (or audit record) reported the same login. */
  deduplicated: number;
  /** audit records not used because an auth log (file or journal) was being followed. */
  auditSuppressed: number;
}

/** AuthSensor is the auth sensor: a Sensor with per-source statistics. */
export interface AuthSensor extends Sensor {
  stats(): AuthSensorStats;
}

/**
 * createAuthSensor builds the driverless authentication sensor: it follows the auth log(s) (or,
 * when there is none, the systemd journal's auth records), wtmp and btmp (and auditd's log when
 * there is neither), and emits OCSF Authentication events (ssh, su, sudo, login; success and
 * failure). It needs no kernel sensor, so it is what a driverless agent still provides.
 */
export function createAuthSensor(opts: AuthSensorOptions): AuthSensor {
  const logger = (opts.logger ?? silentLogger).child({ sensor: 'auth' });
  const pollMs = opts.pollMs ?? 5000;
  let store: FollowStateStore | null = null;
  let sources: AuthSource[] = [];
  let dedup: LoginRecordDedup | null = null;
  let startError = '';
  let sink: EventSink = () => {};
  const counters: SensorCounters = { eventsEmitted: 0, drops: 0, restarts: 0 };
  let tier: Tier = Tier.UNSPECIFIED;
  let auditSuppressed = 0;
  const following = (origin: AuthSourceOrigin) =>
    sources.some((x) => x.origin === origin && x.status().active);
  const logFollowed = () => following('log') || following('journal');
  /** The sources whose events are used right now: audit only stands in for a missing log. */
  const inUse = () => {
    const log = logFollowed();
    return sources.filter((x) => x.status().active && !(log && x.origin === 'audit'));
  };

  const deliver = (e: Event): void => {
    try {
      sink(e);
      counters.eventsEmitted++;
    } catch (err) {
      counters.drops++;
      logger.warn({ err: String(err) }, 'event sink refused an auth event');
    }
  };

  function build(st: FollowStateStore): AuthSource[] {
    const out: AuthSource[] = [];
    for (const path of opts.logPaths ?? ['/var/log/auth.log', '/var/log/secure']) {
      out.push(new LogFileSource({ path, store: st, logger, pollMs, maxLineBytes: opts.maxLineBytes }));
    }
    const wtmp = opts.wtmpPath === undefined ? '/var/log/wtmp' : opts.wtmpPath;
    const btmp = opts.btmpPath === undefined ? '/var/log/btmp' : opts.btmpPath;
    if (wtmp) out.push(new UtmpSource({ path: wtmp, kind: 'wtmp', store: st, logger, pollMs }));
    if (btmp) out.push(new UtmpSource({ path: btmp, kind: 'btmp', store: st, logger, pollMs }));
    const audit = opts.auditLogPath === undefined ? '/var/log/audit/audit.log' : opts.auditLogPath;
    if (audit) out.push(new AuditLogSource({ path: audit, store: st, logger, pollMs }));
    if (opts.journalDirectory !== null) {
      const files = out.filter((x) => x.origin === 'log');
      out.push(
        new JournaldSource({
          store: st,
          logger,
          pollMs,
          directory: opts.journalDirectory,
          readerPath: opts.journalReaderPath,
          ...(opts.trustedPrograms ? { trustedPrograms: opts.trustedPrograms } : {}),
          // Started after the log files, so their first status is known.
          wanted: () => !files.some((x) => x.status().active),
          standbyReason: () =>
            `${files
              .filter((x) => x.status().active)
              .map((x) => x.name)
              .join(', ')} followed (the same records)`,
        }),
      );
    }
    return [...out, ...(opts.sources ?? [])];
  }

  const sensor: AuthSensor = {
    name: 'auth',

    async start(s: EventSink): Promise<void> {
      sink = s;
      try {
        store = new FollowStateStore(opts.stateDir);
      } catch (err) {
        startError = `cannot use state directory ${opts.stateDir}: ${(err as Error).message}`;
        logger.error({ err: String(err) }, 'auth sensor cannot start');
        return;
      }
      sources = build(store);
      const d = new LoginRecordDedup({
        windowMs: opts.dedupWindowMs ?? 5000,
        logActive: () => logFollowed() || following('audit'),
        emit: deliver,
      });
      dedup = d;
      for (const src of sources) {
        try {
          src.start((e) => {
            if (src.origin === 'log' || src.origin === 'journal') d.fromLog(e);
            else if (src.origin === 'login-records') d.fromLoginRecord(e);
            else if (logFollowed()) auditSuppressed++;
            else d.fromLog(e);
          });
        } catch (err) {
          logger.warn({ err: String(err), source: src.name }, 'auth source failed to start');
        }
      }
      logger.info(
        { capabilities: sensor.capabilities().map((c) => `${c.source}${c.reason ? `: ${c.reason}` : ''}`) },
        'auth sensor started',
      );
    },

    async stop(): Promise<void> {
      for (const src of sources) src.stop();
      dedup?.flush();
    },

    capabilities(): Capability[] {
      const active = inUse();
      const reasons: string[] = [];
      if (startError) reasons.push(startError);
      const sock = opts.syslogSocketPath ?? '/dev/log';
      const noSyslog = existsSync(sock)
        ? ''
        : `no syslog socket at ${sock}: programs cannot write auth log lines`;
      if (active.length === 0) {
        for (const s of sources) reasons.push(`${s.name}: ${s.status().reason}`);
        if (sources.length === 0 && !startError) reasons.push('not started');
      } else if (active.some((s) => s.origin === 'log')) {
        if (noSyslog) reasons.push(noSyslog);
      } else if (active.some((s) => s.origin === 'journal')) {
        // journald owns /dev/log; nothing is degraded.
      } else if (active.some((s) => s.origin === 'audit')) {
        reasons.push(
          'no auth log (auth.log/secure, journal): using auditd PAM records (no ssh method or port)',
        );
      } else {
        reasons.push(
          'no auth log (auth.log/secure, journal) or audit log: only wtmp/btmp logins, no su/sudo',
        );
        // The usual cause on hosts without systemd: no syslog daemon is running.
        if (noSyslog) reasons.push(noSyslog);
      }
      return [
        create(CapabilitySchema, {
          kind: TelemetryKind.AUTH,
          active: active.length > 0,
          source: active.map((s) => s.name).join(','),
          reason: reasons.join('; '),
        }),
      ];
    },

    counters(): SensorCounters {
      return { ...counters };
    },

    /** Auth telemetry is collected in every tier; the tier is only remembered. */
    setTier(t: Tier): void {
      tier = t;
      logger.debug({ tier }, 'auth sensor tier set (auth is collected in every tier)');
    },

    stats(): AuthSensorStats {
      return {
        sources: sources.map((s) => ({ name: s.name, ...s.status(), ...s.stats() })),
        deduplicated: dedup?.deduplicated ?? 0,
        auditSuppressed,
      };
    },
  };
  return sensor;
}
