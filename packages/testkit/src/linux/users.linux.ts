// Test-only: throw-away users, sudo rights, and a pty driver that types their passwords.
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { run } from './run.js';
import type { LogNamespace } from './syslog-namespace.linux.js';

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

// Runs argv on a new pty as its controlling terminal (su, sudo and login read passwords from
// the terminal, not stdin) and plays a script: for each step, wait until the output since the
// last step contains `expect`, then type `reply`, or kill the program when reply is null.
// Exits with the program's status (99 when it was killed).
const PTY_DRIVER = `
import os, pty, sys, time, select, json
steps = json.loads(sys.argv[1]); timeout = float(sys.argv[2]); cmd = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
out = b''; seen = b''; step = 0; deadline = time.time() + timeout
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if fd in r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
        seen += d
        if step < len(steps) and steps[step][0].encode() in seen:
            reply = steps[step][1]
            step += 1
            seen = b''
            time.sleep(0.1)
            if reply is None:
                os.kill(pid, 9)
                break
            os.write(fd, reply.encode())
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 99)
`;

/** PtyStep is one step of a pty script: wait for `expect`, then type `reply` (null: kill it). */
export type PtyStep = [expect: string, reply: string | null];

/** ptyScript runs argv inside the namespace on a pty and plays `steps` against its output. */
export function ptyScript(ns: LogNamespace, steps: PtyStep[], argv: string[]) {
  return run(
    'nsenter',
    [
      '-t',
      String(ns.pid),
      '-m',
      '--',
      '/usr/bin/python3',
      '-I',
      '-c',
      PTY_DRIVER,
      JSON.stringify(steps),
      '20',
      ...argv,
    ],
    { timeoutMs: 30_000 },
  );
}

/** inPty runs argv inside the namespace on a pty, answering its password prompt with `password`. */
export function inPty(ns: LogNamespace, password: string, argv: string[]) {
  return ptyScript(ns, [['assword', `${password}\n`]], argv);
}
