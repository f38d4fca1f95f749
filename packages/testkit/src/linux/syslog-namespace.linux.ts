// Test-only: a private rsyslogd for the auth sensor's end-to-end test.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './wait.js';
import { stopChild } from './run.js';

// Builds a private /dev in a new mount namespace (so /dev/log there is our rsyslogd's socket and
// the machine's own /dev/log is untouched), with its own devpts for the pty driver, then becomes
// rsyslogd. Paths come in as $1; nothing is interpolated into the script.
const NS_INIT = `set -eu
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
exec rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid"
`;

/** SyslogNamespace is a private rsyslogd writing auth lines to two files, in both formats. */
export interface SyslogNamespace {
  /** pid of rsyslogd, which holds the mount namespace; run programs in it with nsenter. */
  pid: number;
  /** RFC 3339 timestamps (Debian 12's default format). */
  rfc3339Log: string;
  /** Classic "Nov 26 12:00:00" timestamps (RSYSLOG_TraditionalFileFormat). */
  classicLog: string;
  stop(): Promise<void>;
}

/** startSyslogNamespace starts rsyslogd in its own mount namespace with a private /dev/log. */
export async function startSyslogNamespace(dir: string): Promise<SyslogNamespace> {
  const rfc3339Log = join(dir, 'auth.log');
  const classicLog = join(dir, 'auth-classic.log');
  mkdirSync(join(dir, 'rsyslog-work'), { recursive: true });
  writeFileSync(join(dir, 'ns-init.sh'), NS_INIT);
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
      () => {
        if (child.exitCode !== null) throw new Error(`rsyslogd namespace exited: ${stderr}`);
        execFile('nsenter', ['-t', String(pid), '-m', '--', 'logger', '-p', 'auth.info', marker], () => {});
        return readFileSync(rfc3339Log, 'utf8').includes(marker);
      },
      10_000,
      'private rsyslogd',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid, rfc3339Log, classicLog, stop };
}
