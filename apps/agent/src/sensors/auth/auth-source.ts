import type { Event } from '@palisade/protocol';

/**
 * AuthSourceOrigin tells the sensor how to treat a source's records when two sources see the
 * same login: 'log' records carry the original log line and are kept; 'journal' records (the
 * same lines, from the systemd journal) are read only while no log file is followed; 'audit'
 * records (auditd's PAM records) are used only while neither is; 'login-records' (wtmp/btmp)
 * duplicates of any of them are dropped.
 */
export type AuthSourceOrigin = 'log' | 'journal' | 'audit' | 'login-records';

/** AuthSourceStats are one source's counters. */
export interface AuthSourceStats {
  /** Records (lines, utmp entries) read. */
  read: number;
  /** Records that became events. */
  events: number;
  /** Records that carried no authentication outcome (or could not be parsed). */
  ignored: number;
  /** Lines longer than the limit, cut before parsing. */
  truncated: number;
  /** Journal records an unprivileged process wrote in an authentication program's name. */
  forged: number;
}

/** AuthSourceStatus says whether the source is delivering and, if not, why not. */
export interface AuthSourceStatus {
  active: boolean;
  reason: string;
}

/**
 * AuthSource is one place authentication records come from: an auth log file, the systemd
 * journal, auditd's log, wtmp, btmp. The list is pluggable (AuthSensorOptions.sources).
 */
export interface AuthSource {
  /** Short name shown in capability reports: "auth.log", "wtmp", "btmp", "journald". */
  readonly name: string;
  readonly origin: AuthSourceOrigin;
  /** start begins delivering events; it must not throw when the source is unavailable. */
  start(emit: (event: Event) => void): void;
  stop(): void;
  status(): AuthSourceStatus;
  stats(): AuthSourceStats;
}

/** newSourceStats returns zeroed counters. */
export function newSourceStats(): AuthSourceStats {
  return { read: 0, events: 0, ignored: 0, truncated: 0, forged: 0 };
}
