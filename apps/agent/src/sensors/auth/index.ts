/**
 * The driverless auth sensor: OCSF Authentication events from auth logs (or the journal), wtmp and btmp.
 * createAuthSensor is the entry point; the parsers and sources are exported for reuse and tests.
 */
export {
  type AuthSensor,
  type AuthSensorOptions,
  type AuthSensorStats,
  createAuthSensor,
} from './auth-sensor.js';
export type { AuthSource, AuthSourceOrigin, AuthSourceStats, AuthSourceStatus } from './auth-source.js';
export { AuthActivity, type AuthRecord, LogonType } from './auth-record.js';
export { AUTH_CLASS_UID, type AuthOrigin, toAuthEvent } from './auth-event.js';
export { type ParsedAuthLine, parseAuthLine, parseAuthMessage } from './parse-auth-line.js';
export { parseSyslogEnvelope, type SyslogEnvelope } from './syslog-envelope.js';
export { LogFileSource, type LogFileSourceOptions } from './log-file-source.js';
export { AuditLogSource, type AuditLogSourceOptions } from './audit-log-source.js';
export { UtmpSource, type UtmpSourceOptions } from './utmp-source.linux.js';
export { JournaldSource, type JournaldSourceOptions } from './journald-source.linux.js';
export { JOURNAL_FIELDS, type JournalEntry, parseJournalEntry } from './journal-entry.js';
export {
  DEFAULT_TRUSTED_PROGRAMS,
  type JournalSender,
  judgeSender,
  type ProvenanceVerdict,
  type TrustedPrograms,
  trustedPrograms,
} from './trusted-programs.js';
