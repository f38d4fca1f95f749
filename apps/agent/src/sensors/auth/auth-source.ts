import type { Event } from '@palisade/protocol';

/**
 * AuthSourceOrigin tells the sensor how to treat a source's records when two sources see the
 * same login: 'log' records carry the original log line and are kept; 'audit' records (auditd's
 * PAM records) are used only while no log is followed; 'login-records' (wtmp/btmp) duplicates of
 * either are dropped.
 */
export type AuthSourceOrigin = 'log' | 'audit' | 'login-records';

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
}

/** AuthSourceStatus says whether the source is delivering and, if not, why not. */
export interface AuthSourceStatus {
  active: boolean;
  reason: string;
}

/**
 * AuthSource is one place authentication records come from: an auth log file, wtmp, btmp. The
 * list is pluggable (AuthSensorOptions.sources): a journald reader or a Linux audit (PAM
 * USER_AUTH/USER_LOGIN/USER_CMD) reader would be further implementations of this interface.
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
  return { read: 0, events: 0, ignored: 0, truncated: 0 };
}
