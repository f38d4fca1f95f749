import type { Logger } from '@palisade/common';
import type { Event } from '@palisade/protocol';
import { toAuthEvent } from './auth-event.js';
import {
  type AuthSource,
  type AuthSourceStats,
  type AuthSourceStatus,
  newSourceStats,
} from './auth-source.js';
import { FileFollower } from './file-follower.js';
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
export class AuditLogSource implements AuthSource {
  readonly name = 'audit';
  readonly origin = 'audit' as const;
  private readonly follower: FileFollower<LineItem>;
  private readonly counters = newSourceStats();
  private emit: (event: Event) => void = () => {};

  constructor(o: AuditLogSourceOptions) {
    const path = o.path ?? '/var/log/audit/audit.log';
    this.follower = new FileFollower({
      path,
      framer: new LineFramer(16 * 1024),
      onItems: (items) => this.onLines(items),
      store: o.store,
      stateKey: `audit:${path}`,
      pollMs: o.pollMs ?? 5000,
      logger: o.logger,
    });
  }

  start(emit: (event: Event) => void): void {
    this.emit = emit;
    this.follower.start();
  }

  stop(): void {
    this.follower.stop();
  }

  status(): AuthSourceStatus {
    const s = this.follower.status();
    return s.state === 'following' ? { active: true, reason: '' } : { active: false, reason: s.reason };
  }

  stats(): AuthSourceStats {
    return { ...this.counters };
  }

  private onLines(items: LineItem[]): void {
    for (const item of items) {
      this.counters.read++;
      if (item.truncated) this.counters.truncated++;
      const a = parseAuditLine(item.text);
      if (!a) {
        this.counters.ignored++;
        continue;
      }
      this.counters.events++;
      this.emit(toAuthEvent(a.record, { timeMs: a.timeMs, pid: a.pid, program: a.program, raw: item.text }));
    }
  }
}
