import { AuthProvenance } from '@palisade/protocol';
import type { Logger } from '@palisade/common';
import { toAuthEvent } from './auth-event.js';
import { AuthActivity, type AuthRecord, LogonType } from './auth-record.js';
import { FollowedSource } from './followed-source.js';
import type { FollowStateStore } from './follow-state.js';
import { RecordFramer } from './framers.js';
import { parseUtmpRecord, UTMP_RECORD_SIZE, type UtmpRecord, UtmpType } from './utmp.linux.js';

/** UtmpSourceOptions configure a UtmpSource. */
export interface UtmpSourceOptions {
  path: string;
  /** wtmp holds logins and logouts; btmp holds failed logins. */
  kind: 'wtmp' | 'btmp';
  store: FollowStateStore;
  logger: Logger;
  /** @default 5000 */
  pollMs?: number;
}

/** How many terminals' current users are remembered to name the user of a logout. */
const MAX_OPEN_SESSIONS = 1024;

/** utmpToRecord maps one wtmp/btmp entry to an AuthRecord, or null when it is no login. */
export function utmpToRecord(r: UtmpRecord, kind: 'wtmp' | 'btmp', logoffUser = ''): AuthRecord | null {
  const remote = r.host !== '' || r.line.startsWith('ssh');
  const ip = r.addr || r.host;
  // sshd writes "ssh:notty" or a pts with the client's address; local consoles are ttyN.
  // Other pts entries without a host (su failures write btmp too) have no known service.
  const service = remote ? 'sshd' : /^tty\d/.test(r.line) ? 'login' : '';
  const base = {
    service,
    remote,
    ...(ip ? { srcIp: ip } : {}),
    ...(r.line && !r.line.startsWith('ssh') ? { tty: r.line } : {}),
    logonType: remote ? LogonType.RemoteInteractive : LogonType.Interactive,
  };
  if (kind === 'btmp') {
    if (r.user === '') return null;
    return {
      ...base,
      activity: AuthActivity.Logon,
      success: false,
      user: r.user,
      detail: 'failed login (btmp)',
    };
  }
  if (r.type === UtmpType.UserProcess && r.user !== '') {
    return { ...base, activity: AuthActivity.Logon, success: true, user: r.user, detail: 'login (wtmp)' };
  }
  if (r.type === UtmpType.DeadProcess && r.line !== '') {
    return {
      ...base,
      activity: AuthActivity.Logoff,
      success: true,
      user: r.user || logoffUser,
      detail: 'logout (wtmp)',
    };
  }
  return null;
}

/** utmpRaw is the text stored as raw_data for a login record, since it has no log line. */
export function utmpRaw(kind: string, r: UtmpRecord): string {
  return `${kind}: type=${r.type} pid=${r.pid} line=${r.line} id=${r.id} user=${r.user} host=${r.host} addr=${r.addr} session=${r.session} time=${new Date(r.timeMs).toISOString()}`;
}

/**
 * UtmpSource follows appends to wtmp or btmp (fixed 384-byte glibc records), reporting logins,
 * logouts and failed logins — the records local logins leave even without a syslog daemon.
 */
export class UtmpSource extends FollowedSource<Buffer> {
  readonly name: string;
  readonly origin = 'login-records' as const;
  /** Terminal -> user of the session open on it, so a logout (which carries no user) is named. */
  private readonly sessions = new Map<string, string>();

  constructor(private readonly o: UtmpSourceOptions) {
    super({ ...o, framer: new RecordFramer(UTMP_RECORD_SIZE), stateKey: `${o.kind}:${o.path}` });
    this.name = o.kind;
  }

  protected onItems(items: Buffer[]): void {
    for (const b of items) {
      this.counters.read++;
      const u = parseUtmpRecord(b);
      const rec = u ? utmpToRecord(u, this.o.kind, this.sessions.get(u.line)) : null;
      if (!u || !rec) {
        this.counters.ignored++;
        continue;
      }
      this.track(u);
      this.counters.events++;
      this.emit(
        toAuthEvent(rec, {
          timeMs: u.timeMs,
          pid: u.pid,
          program: rec.service,
          raw: utmpRaw(this.o.kind, u),
          // Members of group utmp (and utempter) may write these files.
          provenance: AuthProvenance.UNVERIFIED,
        }),
      );
    }
  }

  private track(u: UtmpRecord): void {
    if (this.o.kind !== 'wtmp') return;
    if (u.type === UtmpType.UserProcess) {
      this.sessions.delete(u.line);
      if (this.sessions.size >= MAX_OPEN_SESSIONS) {
        const oldest = this.sessions.keys().next().value;
        if (oldest !== undefined) this.sessions.delete(oldest);
      }
      this.sessions.set(u.line, u.user);
    } else if (u.type === UtmpType.DeadProcess) {
      this.sessions.delete(u.line);
    }
  }
}
