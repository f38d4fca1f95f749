import { AuthActivity, type AuthRecord } from '../auth-record.js';

// util-linux su (Debian 12): "(to root) alice on pts/0", "FAILED SU (to root) alice on pts/0".
const UTIL_LINUX = /^(FAILED SU )?\(to (.*)\) (.*) on (\S+)$/;
// shadow su (older Debian, other distributions): "Successful su for root by alice".
const SHADOW = /^(Successful|FAILED) su for (.*) by (\S+)$/;

/** parseSu understands util-linux's and shadow's su messages. Other su lines give null. */
export function parseSu(msg: string): AuthRecord | null {
  const u = UTIL_LINUX.exec(msg);
  if (u) {
    const success = !u[1];
    return {
      service: 'su',
      activity: AuthActivity.AccountSwitch,
      success,
      user: u[2]!,
      actorUser: u[3]!,
      ...(u[4] !== 'none' ? { tty: u[4]! } : {}),
      remote: false,
      ...(success ? {} : { detail: 'authentication failure' }),
    };
  }
  const s = SHADOW.exec(msg);
  if (s) {
    const success = s[1] === 'Successful';
    return {
      service: 'su',
      activity: AuthActivity.AccountSwitch,
      success,
      user: s[2]!,
      actorUser: s[3]!,
      remote: false,
      ...(success ? {} : { detail: 'authentication failure' }),
    };
  }
  return null;
}
