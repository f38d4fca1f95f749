import { AuthProvenance } from '@palisade/protocol';
import type { Logger } from '@palisade/common';
import { toAuthEvent } from './auth-event.js';
import { FollowedSource } from './followed-source.js';
import type { FollowStateStore } from './follow-state.js';
import { LineFramer, type LineItem } from './framers.js';
import { parseAuditLine } from './parsers/audit.js';

/** AuditLogSourceOptions configure an AuditLogSource. */
export interface AuditLogSourceOptions {
  /** @default '/var/log/audit/audit.log' */
  path?: string;
  store: FollowStateStore;
  logger: Logger;
  /** @default 5000 */
  pollMs?: number;
}

/**
 * AuditLogSource reads PAM's USER_AUTH, USER_LOGIN and USER_CMD records from the file a running
 * auditd writes. It only reads that file, so it never competes with auditd for the kernel's
 * audit socket or changes audit rules. Its origin is 'audit': the sensor uses its events only
 * while no auth log is being followed (the same logins are in both).
 */
export class AuditLogSource extends FollowedSource<LineItem> {
  readonly name = 'audit';
  readonly origin = 'audit' as const;

  constructor(o: AuditLogSourceOptions) {
    const path = o.path ?? '/var/log/audit/audit.log';
    super({ ...o, path, framer: new LineFramer(16 * 1024), stateKey: `audit:${path}` });
  }

  protected onItems(items: LineItem[]): void {
    for (const item of items) {
      this.counters.read++;
      if (item.truncated) this.counters.truncated++;
      const a = parseAuditLine(item.text);
      if (!a) {
        this.counters.ignored++;
        continue;
      }
      this.counters.events++;
      this.emit(
        toAuthEvent(a.record, {
          timeMs: a.timeMs,
          pid: a.pid,
          program: a.program,
          raw: item.text,
          // auditd wrote the file; nothing in it proves which program sent the record.
          provenance: AuthProvenance.UNVERIFIED,
        }),
      );
    }
  }
}
