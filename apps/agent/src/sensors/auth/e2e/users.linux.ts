// Test-only: throw-away users, sudo rights, and a pty driver that types their passwords.
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { run } from './process.js';
import type { SyslogNamespace } from './syslog-namespace.linux.js';

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
