import { AuthActivity, type AuthRecord, LogonType } from '../auth-record.js';

// The user name is attacker-controlled and may itself contain " from 1.2.3.4 port 1": the greedy
// (.*) makes the LAST "from <addr> port <n>" win, which is the one sshd appended.
const ACCEPTED = /^Accepted (\S+) for (.*) from (\S+) port (\d+)(?: ssh2)?(?:: (.*))?$/;
const FAILED = /^Failed (\S+) for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh2)?$/;
const INVALID = /^Invalid user (.*) from (\S+)(?: port (\d+))?$/;
const MAX_TRIES =
  /^error: maximum authentication attempts exceeded for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh2)?(?: \[preauth\])?$/;
const NOT_ALLOWED = /^User (\S+) from (\S+) not allowed because (.*)$/;

/** Method names as OCSF auth_protocol; "keyboard-interactive/pam" is keyboard-interactive. */
function method(m: string): string {
  const slash = m.indexOf('/');
  return slash < 0 ? m : m.slice(0, slash);
}

function ssh(user: string, ip: string, port: string | undefined, success: boolean): AuthRecord {
  return {
    service: 'sshd',
    activity: AuthActivity.Logon,
    success,
    user,
    srcIp: ip,
    ...(port ? { srcPort: Number(port) } : {}),
    remote: true,
    logonType: LogonType.RemoteInteractive,
  };
}

/**
 * parseSshd understands OpenSSH's authentication messages (accepted and failed logins, invalid
 * users, too many attempts, users refused by AllowUsers/DenyUsers). Other sshd lines give null.
 */
export function parseSshd(msg: string): AuthRecord | null {
  let m = ACCEPTED.exec(msg);
  if (m) {
    return { ...ssh(m[2]!, m[3]!, m[4], true), method: method(m[1]!), ...(m[5] ? { detail: m[5] } : {}) };
  }
  m = FAILED.exec(msg);
  if (m) {
    return {
      ...ssh(m[3]!, m[4]!, m[5], false),
      method: method(m[1]!),
      detail: m[2] ? 'invalid user' : `failed ${method(m[1]!)}`,
    };
  }
  m = INVALID.exec(msg);
  if (m) return { ...ssh(m[1]!, m[2]!, m[3], false), detail: 'invalid user' };
  m = MAX_TRIES.exec(msg);
  if (m) {
    return {
      ...ssh(m[2]!, m[3]!, m[4], false),
      detail: m[1]
        ? 'maximum authentication attempts exceeded (invalid user)'
        : 'maximum authentication attempts exceeded',
    };
  }
  m = NOT_ALLOWED.exec(msg);
  if (m) return { ...ssh(m[1]!, m[2]!, undefined, false), detail: `not allowed because ${m[3]!}` };
  return null;
}
