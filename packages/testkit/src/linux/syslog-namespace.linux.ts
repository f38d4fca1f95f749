// Test-only: a private rsyslogd or systemd-journald for the auth sensor's end-to-end tests.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../wait.js';
import { stopChild } from './run.js';

// Builds a private /dev in a new mount namespace (so /dev/log there is our logger's socket and
// the machine's own /dev/log is untouched), with its own devpts for the pty driver, then runs
// the rest of the script. Paths come in as $1; nothing is interpolated into the script.
const NS_DEV = `set -eu
T="$1"
mount --make-rprivate /
mkdir -p "$T/realdev"
mount --rbind /dev "$T/realdev"
mount -t tmpfs -o mode=755 palisade-test-dev /dev
for n in null zero full random urandom tty; do touch "/dev/$n"; mount --bind "$T/realdev/$n" "/dev/$n"; done
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
ln -s /proc/self/fd /dev/fd
umount -l "$T/realdev"
`;
const NS_RSYSLOG = `${NS_DEV}exec rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid"
`;
// journald's sockets (/run/systemd/journal) and journals (/run/log/journal, /var/log/journal)
// are bind-mounted from the test's directory, so the machine's are untouched.
const NS_JOURNALD = `${NS_DEV}mkdir -p "$T/run-systemd" "$T/run-log" "$T/var-log-journal"
mount --bind "$T/run-systemd" /run/systemd
mount --bind "$T/run-log" /run/log
mount --bind "$T/var-log-journal" /var/log/journal
ln -s /run/systemd/journal/dev-log /dev/log
exec /lib/systemd/systemd-journald
`;

/** LogNamespace is a mount namespace whose /dev/log belongs to the test; run programs in it with nsenter. */
export interface LogNamespace {
  /** pid of the logging daemon, which holds the mount namespace. */
  pid: number;
  stop(): Promise<void>;
}

/** SyslogNamespace is a private rsyslogd writing auth lines to two files, in both formats. */
export interface SyslogNamespace extends LogNamespace {
  /** RFC 3339 timestamps (Debian 12's default format). */
  rfc3339Log: string;
  /** Classic "Nov 26 12:00:00" timestamps (RSYSLOG_TraditionalFileFormat). */
  classicLog: string;
}

/** JournalNamespace is a private systemd-journald; its journal files are under `journalDir`. */
export interface JournalNamespace extends LogNamespace {
  /** Read it with `journalctl --directory=<journalDir>` (volatile storage, as before a flush). */
  journalDir: string;
}

/** startSyslogNamespace starts rsyslogd in its own mount namespace with a private /dev/log. */
export async function startSyslogNamespace(dir: string): Promise<SyslogNamespace> {
  const rfc3339Log = join(dir, 'auth.log');
  const classicLog = join(dir, 'auth-classic.log');
  mkdirSync(join(dir, 'rsyslog-work'), { recursive: true });
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    [
      `global(workDirectory="${join(dir, 'rsyslog-work')}")`,
      'module(load="imuxsock")',
      `auth,authpriv.* action(type="omfile" file="${rfc3339Log}" template="RSYSLOG_FileFormat")`,
      `auth,authpriv.* action(type="omfile" file="${classicLog}" template="RSYSLOG_TraditionalFileFormat")`,
      '',
    ].join('\n'),
  );
  writeFileSync(rfc3339Log, '');
  writeFileSync(classicLog, '');
  const ns = await startNamespace(dir, NS_RSYSLOG, 'private rsyslogd', () =>
    readFileSync(rfc3339Log, 'utf8'),
  );
  return { ...ns, rfc3339Log, classicLog };
}

/**
 * startJournalNamespace starts systemd-journald in its own mount namespace with a private
 * /dev/log and private journal directories (needs root and the systemd package).
 */
export async function startJournalNamespace(dir: string): Promise<JournalNamespace> {
  const journalDir = join(dir, 'run-log', 'journal');
  const ns = await startNamespace(dir, NS_JOURNALD, 'private systemd-journald', () => {
    const r = spawnSync(
      'journalctl',
      [`--directory=${journalDir}`, '--output=cat', '--no-pager', '--quiet'],
      {
        encoding: 'utf8',
      },
    );
    return r.stdout ?? '';
  });
  return { ...ns, journalDir };
}

/** startNamespace runs `script` in a new mount namespace; ready when a logged marker shows in read(). */
async function startNamespace(
  dir: string,
  script: string,
  what: string,
  read: () => string,
): Promise<LogNamespace> {
  writeFileSync(join(dir, 'ns-init.sh'), script);
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', join(dir, 'ns-init.sh'), dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const pid = child.pid!;
  const stop = () => stopChild(child);
  try {
    // Ready when a line logged inside the namespace reaches the file.
    const marker = `palisade-e2e-ready-${randomBytes(4).toString('hex')}`;
    await waitFor(
      what,
      () => {
        if (child.exitCode !== null) throw new Error(`${what} namespace exited: ${stderr}`);
        execFile('nsenter', ['-t', String(pid), '-m', '--', 'logger', '-p', 'auth.info', marker], () => {});
        return read().includes(marker);
      },
      10_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid, stop };
}
