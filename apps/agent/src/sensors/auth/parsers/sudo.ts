import { AuthActivity, type AuthRecord } from '../auth-record.js';

// "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u", optionally with a
// status first: "alice : 3 incorrect password attempts ; TTY=...". rsyslog's classic format
// keeps sudo's leading spaces, hence \s*.
const LINE = /^\s*(\S+) : (.*)$/;
const KEY = /^([A-Z_]+)=(.*)$/s;

/**
 * parseSudo understands sudo's command log line: success (only fields) or a refusal (a status
 * such as "3 incorrect password attempts" or "user NOT in sudoers" before the fields). COMMAND
 * is always last and is taken whole, because a command line may itself contain " ; ".
 */
export function parseSudo(msg: string): AuthRecord | null {
  const m = LINE.exec(msg);
  if (!m) return null;
  const rest = m[2]!;
  const cmdAt = rest.indexOf('COMMAND=');
  const head = cmdAt < 0 ? rest : rest.slice(0, cmdAt);
  const fields: Record<string, string> = {};
  let status = '';
  for (const part of head.split(' ; ')) {
    const p = part.trim();
    if (p === '') continue;
    const kv = KEY.exec(p);
    if (kv) fields[kv[1]!] = kv[2]!;
    else if (status === '') status = p;
  }
  // A sudo line always names the target user or the terminal; anything else is not ours.
  if (!('USER' in fields) && !('TTY' in fields)) return null;
  const success = status === '';
  return {
    service: 'sudo',
    activity: AuthActivity.AccountSwitch,
    success,
    user: fields.USER ?? 'root',
    actorUser: m[1]!,
    ...(cmdAt >= 0 ? { command: rest.slice(cmdAt + 'COMMAND='.length) } : {}),
    ...(fields.TTY && fields.TTY !== 'unknown' ? { tty: fields.TTY } : {}),
    ...(status ? { detail: status } : {}),
    ...(/incorrect password/.test(status) ? { method: 'password' } : {}),
    remote: false,
  };
}
