import { AuthActivity, type AuthRecord, LogonType } from '../auth-record.js';

// "pam_unix(su:auth): authentication failure; logname= uid=1001 euid=0 tty=/dev/pts/0
// ruser=alice rhost=  user=root" — any PAM module that reports in pam_unix's style.
const AUTH_FAILURE = /^(pam_\w+)\(([\w.-]+):auth\): authentication failure; (.*)$/;
// "pam_unix(login:session): session opened for user bob(uid=1000) by LOGIN(uid=0)"
const SESSION_OPENED =
  /^pam_unix\(([\w.-]+):session\): session opened for user (.+?)(?:\(uid=(\d+)\))? by (.*)$/;
const KV = /(\w+)=(\S*)/g;

/** Services whose success is only visible as a PAM session (shadow login logs root only). */
const SESSION_LOGON_SERVICES = new Set(['login']);

/** serviceName folds PAM service variants onto the program: su-l is su, sudo-i is sudo. */
function serviceName(pamService: string): string {
  if (pamService === 'su-l') return 'su';
  if (pamService === 'sudo-i') return 'sudo';
  return pamService;
}

function fields(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(KV)) out[m[1]!] = m[2]!;
  return out;
}

/**
 * parsePam understands PAM modules' "authentication failure" lines for any service, and
 * pam_unix's "session opened" for login (the only record of a non-root console login).
 */
export function parsePam(msg: string): AuthRecord | null {
  const f = AUTH_FAILURE.exec(msg);
  if (f) {
    const service = serviceName(f[2]!);
    const kv = fields(f[3]!);
    const switching = service === 'su' || service === 'sudo';
    const rhost = kv.rhost ?? '';
    // login runs PAM with logname=LOGIN, a placeholder rather than a user.
    const logname = kv.logname === 'LOGIN' ? '' : kv.logname;
    const actor = kv.ruser || logname || '';
    const remote = rhost !== '' || service === 'sshd';
    const tty = kv.tty && !kv.tty.startsWith('ssh') ? kv.tty.replace(/^\/dev\//, '') : undefined;
    return {
      service,
      activity: switching ? AuthActivity.AccountSwitch : AuthActivity.Logon,
      success: false,
      user: kv.user ?? '',
      ...(actor ? { actorUser: actor } : {}),
      ...(kv.uid !== undefined ? { actorUid: kv.uid } : {}),
      ...(rhost ? { srcIp: rhost } : {}),
      ...(tty ? { tty } : {}),
      method: 'password',
      detail: `${f[1]!}: authentication failure`,
      remote,
      ...(switching ? {} : { logonType: remote ? LogonType.RemoteInteractive : LogonType.Interactive }),
    };
  }
  const s = SESSION_OPENED.exec(msg);
  if (s && SESSION_LOGON_SERVICES.has(s[1]!)) {
    return {
      service: s[1]!,
      activity: AuthActivity.Logon,
      success: true,
      user: s[2]!,
      remote: false,
      logonType: LogonType.Interactive,
      detail: 'session opened',
    };
  }
  return null;
}
