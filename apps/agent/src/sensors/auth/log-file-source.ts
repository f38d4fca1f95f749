import { AuthProvenance } from '@palisade/protocol';
import { basename } from 'node:path';
import type { Logger } from '@palisade/common';
import { toAuthEvent } from './auth-event.js';
import { FollowedSource } from './followed-source.js';
import type { FollowStateStore } from './follow-state.js';
import { LineFramer, type LineItem } from './framers.js';
import { parseAuthLine } from './parse-auth-line.js';

/** LogFileSourceOptions configure a LogFileSource. */
export interface LogFileSourceOptions {
  path: string;
  store: FollowStateStore;
  logger: Logger;
  /** @default 5000 */
  pollMs?: number;
  /** @default 16384 */
  maxLineBytes?: number;
  /** Clock for the year of classic syslog timestamps. @default Date.now */
  now?: () => number;
}

/**
 * LogFileSource follows a syslog auth log (/var/log/auth.log, /var/log/secure) and turns each
 * recognised line into an Authentication event whose raw_data is the line itself.
 */
export class LogFileSource extends FollowedSource<LineItem> {
  readonly name: string;
  readonly origin = 'log' as const;
  private readonly now: () => number;

  constructor(o: LogFileSourceOptions) {
    super({ ...o, framer: new LineFramer(o.maxLineBytes ?? 16 * 1024), stateKey: `log:${o.path}` });
    this.name = basename(o.path);
    this.now = o.now ?? Date.now;
  }

  protected onItems(items: LineItem[]): void {
    const now = this.now();
    for (const item of items) {
      this.counters.read++;
      if (item.truncated) this.counters.truncated++;
      const parsed = parseAuthLine(item.text, now);
      if (!parsed) {
        this.counters.ignored++;
        continue;
      }
      const { envelope, record } = parsed;
      this.counters.events++;
      this.emit(
        toAuthEvent(record, {
          timeMs: envelope.timeMs,
          pid: envelope.pid,
          program: envelope.program,
          raw: item.text,
          // A syslog line carries no sender credentials: anyone who can write to /dev/log can
          // write one (logger -t sshd ...), so a log file's records are never verified.
          provenance: AuthProvenance.UNVERIFIED,
        }),
      );
    }
  }
}
