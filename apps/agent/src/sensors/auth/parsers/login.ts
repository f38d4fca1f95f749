import { AuthActivity, type AuthRecord, LogonType } from '../auth-record.js';

// shadow's login: "ROOT LOGIN  on 'tty1'", "ROOT LOGIN  on 'pts/1' from 'host'",
// "FAILED LOGIN (1) on '/dev/tty1' FOR 'bob', Authentication failure",
// "TOO MANY LOGIN TRIES (5) on '/dev/tty1' FOR 'bob', Authentication failure".
const ROOT = /^ROOT LOGIN\s+on '([^']*)'(?: from '([^']*)')?$/;
const FAILED =
  /^(FAILED LOGIN|TOO MANY LOGIN TRIES) \((\d+)\)\s+on '([^']*)'(?: from '([^']*)')? FOR '(.*)', (.*)$/;

function tty(t: string): string {
  return t.startsWith('/dev/') ? t.slice(5) : t;
}

function base(from: string | undefined): Pick<AuthRecord, 'srcIp' | 'remote' | 'logonType'> {
  return from
    ? { srcIp: from, remote: true, logonType: LogonType.RemoteInteractive }
    : { remote: false, logonType: LogonType.Interactive };
}

/** parseLogin understands shadow login's root-login and failed-login messages. */
export function parseLogin(msg: string): AuthRecord | null {
  const r = ROOT.exec(msg);
  if (r) {
    return {
      service: 'login',
      activity: AuthActivity.Logon,
      success: true,
      user: 'root',
      tty: tty(r[1]!),
      ...base(r[2]),
    };
  }
  const f = FAILED.exec(msg);
  if (f) {
    return {
      service: 'login',
      activity: AuthActivity.Logon,
      success: false,
      user: f[5]!,
      tty: tty(f[3]!),
      method: 'password',
      detail: f[1] === 'FAILED LOGIN' ? f[6]! : `too many login tries (${f[2]}): ${f[6]!}`,
      ...base(f[4]),
    };
  }
  return null;
}
