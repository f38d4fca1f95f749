import { AuthActivity, type AuthRecord, LogonType } from '../auth-record.js';

/** AuditLine is a PAM user record from auditd's log, with its time and the reporting pid. */
export interface AuditLine {
  timeMs: number;
  pid: number;
  program: string;
  record: AuthRecord;
}

// type=USER_AUTH msg=audit(1764160000.123:456): pid=7945 uid=1001 auid=... ses=... msg='...'
// followed, in auditd's ENRICHED format, by 0x1d and UID="alice" AUID="unset" ...
const HEAD = /^type=(USER_AUTH|USER_LOGIN|USER_CMD) msg=audit\((\d+)\.(\d{3}):\d+\): (.*)$/s;
// auditd's ENRICHED format separates the resolved names (UID="alice") with 0x1d.
const GROUP_SEPARATOR = String.fromCharCode(0x1d);
const FIELD = /([A-Za-z_]+)=("[^"]*"|'[^']*'|\S*)/g;

/** Fields audit writes as "untrusted strings": quoted when plain, hex when they have odd bytes. */
const STRING_FIELDS = new Set(['acct', 'cmd', 'exe', 'cwd', 'hostname', 'terminal']);

/**
 * decodeValue reads one audit field value: "quoted" is literal, an unquoted hex string in a
 * string field is the encoding audit uses for values with spaces or odd bytes, '?' means unset.
 */
function decodeValue(key: string, v: string): string {
  if (v.startsWith('"') || v.startsWith("'")) return v.slice(1, -1);
  if (v === '?' || v === '(null)') return '';
  if (STRING_FIELDS.has(key) && v.length >= 2 && v.length % 2 === 0 && /^[0-9A-F]+$/.test(v)) {
    return Buffer.from(v, 'hex')
      .toString('utf8')
      .replace(/\p{Cc}/gu, '?');
  }
  return v;
}

function fields(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(FIELD)) if (!(m[1]! in out)) out[m[1]!] = decodeValue(m[1]!, m[2]!);
  return out;
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/**
 * parseAuditLine understands the PAM records in auditd's log: USER_AUTH (an authentication
 * attempt), USER_LOGIN (a login by sshd or login) and USER_CMD (a command run through sudo).
 * Other records and malformed lines give null.
 */
export function parseAuditLine(line: string): AuditLine | null {
  const h = HEAD.exec(line);
  if (!h) return null;
  const type = h[1]!;
  const timeMs = Number(h[2]) * 1000 + Number(h[3]);
  // The outer fields (pid, uid) come before msg='...'; the inner ones are inside it.
  const msgAt = h[4]!.indexOf("msg='");
  if (msgAt < 0) return null;
  const outer = fields(h[4]!.slice(0, msgAt));
  const end = h[4]!.indexOf("'", msgAt + 5);
  const inner = fields(h[4]!.slice(msgAt + 5, end < 0 ? undefined : end));
  const enriched = end < 0 ? {} : fields(h[4]!.slice(end + 1).replaceAll(GROUP_SEPARATOR, ' '));
  const exe = inner.exe ?? '';
  const program = basename(exe);
  const service = program === 'sshd-session' ? 'sshd' : program;
  const success = inner.res === 'success';
  const addr = inner.addr ?? '';
  const remote = addr !== '' || service === 'sshd';
  const terminal = (inner.terminal ?? '').replace(/^\/dev\//, '');
  const tty = terminal && terminal !== 'ssh' && terminal !== 'sshd' ? terminal : undefined;
  const actor = enriched.UID ? { actorUser: enriched.UID } : {};
  const base = {
    service,
    success,
    remote,
    ...(addr ? { srcIp: addr } : {}),
    ...(tty ? { tty } : {}),
    ...(outer.uid !== undefined ? { actorUid: outer.uid } : {}),
    ...(success ? {} : { detail: `${type.toLowerCase()} failed (audit)` }),
  };
  const switching = service === 'su' || service === 'sudo';
  let record: AuthRecord;
  if (type === 'USER_CMD') {
    record = {
      ...base,
      ...actor,
      activity: AuthActivity.AccountSwitch,
      user: '',
      ...(inner.cmd ? { command: inner.cmd } : {}),
    };
  } else {
    const user = inner.acct ?? enriched.ID ?? inner.id ?? '';
    record = {
      ...base,
      ...actor,
      activity: switching ? AuthActivity.AccountSwitch : AuthActivity.Logon,
      user,
      ...(type === 'USER_AUTH' ? { method: 'password' } : {}),
      ...(switching ? {} : { logonType: remote ? LogonType.RemoteInteractive : LogonType.Interactive }),
    };
  }
  return { timeMs, pid: Number(outer.pid ?? 0) || 0, program, record };
}
