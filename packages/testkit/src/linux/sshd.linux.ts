// Test-only: Debian's openssh-server on a loopback port, and an ssh client to log in with.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../net.js';
import { waitFor } from '../wait.js';
import { run, stopChild } from './run.js';
import type { LogNamespace } from './syslog-namespace.linux.js';

/** Sshd is Debian's openssh-server running in the syslog namespace on a loopback port. */
export interface Sshd {
  port: number;
  stop(): Promise<void>;
}

/** startSshd starts /usr/sbin/sshd with its own host key and config in `dir`. */
export async function startSshd(ns: LogNamespace, dir: string): Promise<Sshd> {
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
      'sshd listening',
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
