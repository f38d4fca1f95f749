// Test-only harness for the auth sensor's end-to-end test: a private syslog daemon, throw-away
// users, an sshd on a loopback port, and a pty driver for programs that read passwords.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './test-helpers.js';

/** run executes a program (never a shell string) and resolves with its exit code and output. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
    // A program that exits without reading its input must not fail the caller with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

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

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** TestUser is a throw-away local account with a known password. */
export interface TestUser {
  name: string;
  password: string;
}

/** createTestUser adds a local user without a home directory and sets its password. */
export async function createTestUser(): Promise<TestUser> {
  const name = `pal${randomBytes(4).toString('hex')}`;
  const password = `Pw-${randomBytes(9).toString('base64url')}`;
  const add = await run('useradd', ['-M', '-s', '/bin/sh', name]);
  if (add.code !== 0) throw new Error(`useradd ${name} failed: ${add.out}`);
  const pw = await run('chpasswd', [], { input: `${name}:${password}\n` });
  if (pw.code !== 0) throw new Error(`chpasswd failed: ${pw.out}`);
  return { name, password };
}

/** removeTestUser deletes a user made by createTestUser. */
export async function removeTestUser(u: TestUser): Promise<void> {
  await run('userdel', [u.name]);
}

/** allowSudo lets `u` run `commands` as root with its password, one try per prompt. */
export function allowSudo(u: TestUser, commands: string[]): () => void {
  const path = `/etc/sudoers.d/palisade-e2e-${u.name}`;
  writeFileSync(path, `${u.name} ALL=(root) ${commands.join(', ')}\nDefaults:${u.name} passwd_tries=1\n`, {
    mode: 0o440,
  });
  chmodSync(path, 0o440);
  return () => rmSync(path, { force: true });
}

// Runs argv on a new pty as the controlling terminal and types the password at every password
// prompt (su and sudo read it from the terminal, not stdin). Exits with the program's status.
const PTY_DRIVER = `
import os, pty, sys, time, select
pw = sys.argv[1].encode() + b'\\n'; timeout = float(sys.argv[2]); cmd = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
buf = b''; answered = 0; deadline = time.time() + timeout
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if fd in r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        buf += d
        if buf.count(b'assword') > answered:
            answered += 1
            time.sleep(0.1)
            os.write(fd, pw)
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 99)
`;

/** inPty runs argv inside the namespace on a pty, answering password prompts with `password`. */
export function inPty(ns: SyslogNamespace, password: string, argv: string[]) {
  return run(
    'nsenter',
    ['-t', String(ns.pid), '-m', '--', '/usr/bin/python3', '-I', '-c', PTY_DRIVER, password, '20', ...argv],
    { timeoutMs: 30_000 },
  );
}

/** freePort asks the kernel for an unused loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Sshd is Debian's openssh-server running in the syslog namespace on a loopback port. */
export interface Sshd {
  port: number;
  stop(): Promise<void>;
}

/** startSshd starts /usr/sbin/sshd with its own host key and config in `dir`. */
export async function startSshd(ns: SyslogNamespace, dir: string): Promise<Sshd> {
  const port = await freePort();
  const key = join(dir, 'ssh_host_ed25519_key');
  const gen = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  if (gen.code !== 0) throw new Error(`ssh-keygen failed: ${gen.out}`);
  const conf = join(dir, 'sshd_config');
  writeFileSync(
    conf,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      'ListenAddress [::1]',
      // The test's key files live under /tmp, which StrictModes would reject.
      'StrictModes no',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}/%u`,
      `HostKey ${key}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM yes',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'SyslogFacility AUTH',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  // sshd reads authorized keys as the user: the path must be traversable and readable by it.
  chmodSync(dir, 0o711);
  mkdirSync(join(dir, 'authorized_keys'), { recursive: true, mode: 0o755 });
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child = spawn('nsenter', ['-t', String(ns.pid), '-m', '--', '/usr/sbin/sshd', '-D', '-f', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const stop = () => stopChild(child);
  try {
    let up = false;
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
        const c = connect(port, '127.0.0.1');
        c.once('connect', () => {
          up = true;
          c.destroy();
        });
        c.once('error', () => c.destroy());
        return up;
      },
      10_000,
      'sshd listening',
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}

/** SshLogin says how the test client logs in. */
export interface SshLogin {
  port: number;
  user: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** Password login through sshpass. */
  password?: string;
  /** Public-key login with this private key file. */
  identity?: string;
}

/** sshLogin logs in with ssh (password via sshpass, or a key) and runs `id -u`. */
export function sshLogin(o: SshLogin) {
  const common = [
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'ConnectTimeout=10',
  ];
  const auth = o.identity
    ? [
        '-o',
        'PreferredAuthentications=publickey',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
        '-i',
        o.identity,
      ]
    : [
        '-o',
        'PreferredAuthentications=password',
        '-o',
        'PubkeyAuthentication=no',
        '-o',
        'NumberOfPasswordPrompts=1',
      ];
  const ssh = [
    'ssh',
    ...common,
    ...auth,
    '-p',
    String(o.port),
    `${o.user}@${o.host ?? '127.0.0.1'}`,
    'id',
    '-u',
  ];
  return o.identity
    ? run(ssh[0]!, ssh.slice(1), { timeoutMs: 30_000 })
    : run('sshpass', ['-p', o.password ?? '', ...ssh], { timeoutMs: 30_000 });
}

/** authorizeKey makes a key pair in `dir` and lets `user` log in with it; returns the private key. */
export async function authorizeKey(dir: string, user: string): Promise<string> {
  const key = join(dir, `client_key_${user}`);
  const gen = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  if (gen.code !== 0) throw new Error(`ssh-keygen failed: ${gen.out}`);
  writeFileSync(join(dir, 'authorized_keys', user), readFileSync(`${key}.pub`), { mode: 0o644 });
  return key;
}
