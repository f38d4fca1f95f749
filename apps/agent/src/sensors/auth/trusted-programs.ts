import { AuthProvenance } from '@palisade/protocol';

/**
 * TrustedPrograms maps the program an authentication record speaks for (the service its parser
 * reports: sshd, su, sudo, login, or the service of a PAM line such as `pam_unix(su-l:auth)`,
 * folded to su) to the executables that really are that program. Configurable as
 * `auth.trustedPrograms` (each program given replaces its default list; an empty list trusts no
 * executable for it).
 */
export type TrustedPrograms = Readonly<Record<string, readonly string[]>>;

/**
 * DEFAULT_TRUSTED_PROGRAMS are where Debian/Ubuntu, RHEL/Fedora and Arch install them. OpenSSH
 * 9.8 and later log from the per-connection sshd-session (its pre-authentication sshd-auth runs
 * unprivileged and logs through it); earlier ones from sshd. /bin paths serve distributions
 * without merged /usr (on merged ones the kernel reports the /usr path).
 */
export const DEFAULT_TRUSTED_PROGRAMS: TrustedPrograms = {
  sshd: [
    '/usr/sbin/sshd',
    '/sbin/sshd',
    '/usr/lib/openssh/sshd-session',
    '/usr/libexec/openssh/sshd-session',
    '/usr/lib/ssh/sshd-session',
    '/usr/libexec/sshd-session',
  ],
  su: ['/usr/bin/su', '/bin/su'],
  sudo: ['/usr/bin/sudo', '/bin/sudo'],
  login: ['/usr/bin/login', '/bin/login'],
};

/** trustedPrograms is the default table with `overrides` (per program) applied. */
export function trustedPrograms(overrides: Record<string, readonly string[]> = {}): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [k, v] of Object.entries(DEFAULT_TRUSTED_PROGRAMS)) out.set(k, new Set(v));
  for (const [k, v] of Object.entries(overrides)) out.set(k, new Set(v));
  return out;
}

/**
 * JournalSender is who sent a journal record, from the fields journald itself adds (their names
 * start with `_`; a client cannot set them): the pid and uid come from the socket's kernel
 * credentials, the rest from /proc when journald received the record (absent when the sender
 * had already exited).
 */
export interface JournalSender {
  pid?: number;
  uid?: number;
  comm?: string;
  /** The executable, as /proc/PID/exe names it. */
  exe?: string;
  /** The effective capability set, a bit mask. */
  capEffective?: bigint;
}

/**
 * ROOT_LOGGERS are the programs whose records always come from a process with real uid 0
 * (measured: sshd's monitor and sshd-session, sudo after it sets its uid, login). su is not one:
 * util-linux su logs with the invoking user's real uid (and the capabilities of its setuid-root
 * binary), so a su record from a non-root uid is only judged by its capabilities.
 */
export const ROOT_LOGGERS: ReadonlySet<string> = new Set(['sshd', 'sudo', 'login']);

/** CAP_SETUID (7): a process holding it can become root, as setuid-root su and sudo do. */
const CAP_SETUID = 7n;

/**
 * privileged says whether the sender ran as root: uid 0, or CAP_SETUID effective. su runs with
 * the invoking user's real uid (which is what journald records) but the full capability set of
 * its setuid-root binary; the same su run under ptrace, or a copy, has none.
 */
export function privileged(s: JournalSender): boolean {
  return s.uid === 0 || (s.capEffective !== undefined && ((s.capEffective >> CAP_SETUID) & 1n) === 1n);
}

/** describeSender names a sender for people: "uid 1000, pid 4321, /usr/bin/logger". */
export function describeSender(s: JournalSender): string {
  const parts = [s.uid === undefined ? 'uid unknown' : `uid ${s.uid}`];
  if (s.pid !== undefined) parts.push(`pid ${s.pid}`);
  parts.push(s.exe ?? (s.comm ? `${s.comm} (executable unknown)` : 'executable unknown'));
  return parts.join(', ');
}

/** ProvenanceVerdict is how a journal record's sender compares with the program it speaks for. */
export interface ProvenanceVerdict {
  provenance: AuthProvenance;
  /** Why it is not verified ('' when it is). */
  why: string;
}

/**
 * judgeSender decides whether a journal record that speaks for `service` was written by it:
 * verified when the sender's executable is one of that program's in `table` and it ran
 * privileged; forged when the sender was unprivileged (whatever it claims: no unprivileged
 * process is an authority on authentication) — for programs other than ROOT_LOGGERS only when
 * journald saw its capabilities, since a real su that had already exited looks like any other
 * user's process; otherwise (no sender recorded, a su that had exited, (a root process that is not a listed
 * executable, or had exited before journald looked) unverified. A binary replaced by a package
 * upgrade while it runs shows as "<path> (deleted)"; only root can replace it there, so it counts
 * as its path.
 */
export function judgeSender(
  service: string,
  s: JournalSender,
  table: ReadonlyMap<string, ReadonlySet<string>>,
): ProvenanceVerdict {
  const paths = table.get(service);
  const exe = s.exe?.endsWith(' (deleted)') ? s.exe.slice(0, -' (deleted)'.length) : s.exe;
  const listed = exe !== undefined && paths?.has(exe) === true;
  const priv = privileged(s);
  if (listed && priv) return { provenance: AuthProvenance.VERIFIED, why: '' };
  const who = describeSender(s);
  if (s.uid === undefined && !priv)
    return { provenance: AuthProvenance.UNVERIFIED, why: 'journald recorded no sender (_UID)' };
  // journald reads _EXE and _CAP_EFFECTIVE from /proc when the record arrives: neither is there
  // when the sender had exited by then (su -c with a short command, on a busy host; or logger).
  const gone = s.exe === undefined && s.capEffective === undefined;
  if (!priv && gone && !ROOT_LOGGERS.has(service))
    return {
      provenance: AuthProvenance.UNVERIFIED,
      why: `sent by ${who}, which had exited before journald could read its executable and capabilities`,
    };
  if (!priv)
    return {
      provenance: AuthProvenance.FORGED,
      why: `sent by ${who}: an unprivileged process, not ${service}`,
    };
  if (!paths || paths.size === 0)
    return {
      provenance: AuthProvenance.UNVERIFIED,
      why: `sent by ${who}; no executable is trusted for ${service} (auth.trustedPrograms)`,
    };
  return {
    provenance: AuthProvenance.UNVERIFIED,
    why: `sent by ${who}, which is not a trusted ${service} executable (auth.trustedPrograms)`,
  };
}
