// `palisade agent` as a real process (runAgentCommand): flags, config, clear fatal errors,
// SIGHUP reload and a clean SIGTERM stop, against the real server.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunningServer, startServer } from '@palisade/server';
import { tempDir, waitFor } from '@palisade/testkit';
import { readKey } from './agent-harness.test-util.js';

const fixture = fileURLToPath(new URL('./main.fixture.js', import.meta.url));

interface Run {
  child: ChildProcess;
  output(): string;
  exit: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}, stdin?: string): Run {
  const child = spawn(process.execPath, [fixture, ...args], {
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, PALISADE_REGISTRATION_KEY: '', ...env },
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exit };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} took over ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function server(t: { after(fn: () => Promise<void>): void }): Promise<RunningServer> {
  const srv = await startServer({
    dataDir: tempDir('palisade-agent-main-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  t.after(() => srv.close());
  return srv;
}

test('an unknown config key is a clear error naming the key, exit code 2', async () => {
  const cfg = join(tempDir('palisade-agent-main-'), 'agent.yaml');
  writeFileSync(cfg, 'server: https://127.0.0.1:1\nregistrationKee: x\n');
  const r = run(['--config', cfg, '--state-dir', tempDir('palisade-agent-main-')]);
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(r.output(), /palisade agent: .*agent\.yaml: unknown key "registrationKee"/);
});

test('an unknown flag and a bad --tier are clear errors', async () => {
  let r = run(['--state-dir', tempDir('palisade-agent-main-'), '--bogus']);
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(r.output(), /Unknown option '--bogus'/);
  r = run(['--state-dir', tempDir('palisade-agent-main-'), '--tier', 'laptop']);
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(r.output(), /--tier must be "server" or "workstation", got "laptop"/);
  r = run(['--state-dir', tempDir('palisade-agent-main-'), '--log-level', 'loud']);
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(r.output(), /--log-level must be one of trace, debug/);
  r = run(['--state-dir', tempDir('palisade-agent-main-'), '--server', 'http://127.0.0.1:7443'], {
    PALISADE_REGISTRATION_KEY: 'prk_x',
  });
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(r.output(), /registration URL "http:\/\/127\.0\.0\.1:7443" must use https:\/\//);
});

test('an unregistered agent without a registration key says what is missing', async () => {
  const r = run(['--server', 'https://127.0.0.1:1', '--state-dir', tempDir('palisade-agent-main-')]);
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(
    r.output(),
    /not registered yet: give a registration key \(--registration-key-file, PALISADE_REGISTRATION_KEY/,
  );
});

test('SIGTERM while waiting for an unreachable server to register stops at once, exit code 0', async () => {
  const r = run(['--server', 'https://127.0.0.1:1', '--state-dir', tempDir('palisade-agent-main-')], {
    PALISADE_REGISTRATION_KEY: 'prk_whatever',
  });
  await waitFor(
    'a retry',
    () => /registration service unreachable or failing; retrying/.test(r.output()),
    20_000,
  );
  r.child.kill('SIGTERM');
  assert.equal(await withTimeout(r.exit, 10_000, 'stop'), 0);
  assert.match(r.output(), /stopped before registration completed/);
});

test('a wrong registration key is refused with the reason, exit code 2', async (t) => {
  const srv = await server(t);
  const ca = join(tempDir('palisade-agent-main-'), 'ca.pem');
  writeFileSync(ca, srv.caPem);
  const r = run(
    ['--server', srv.registrationUrl, '--ca', ca, '--state-dir', tempDir('palisade-agent-main-')],
    {
      PALISADE_REGISTRATION_KEY: 'prk_not_a_key',
    },
  );
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(r.output(), /registration refused \(invalid_registration_key\)/);
  assert.ok(!r.output().includes('prk_not_a_key'), 'the key is not echoed to the log');
});

test('registers from the config file, reloads the tier on SIGHUP, stops cleanly on SIGTERM', async (t) => {
  const srv = await server(t);
  const dir = tempDir('palisade-agent-main-');
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, srv.caPem);
  const cfg = join(dir, 'agent.yaml');
  const base = `server: ${srv.registrationUrl}\nca: ${ca}\nregistrationKey: ${readKey(srv.dataDir)}\nstateDir: ${join(dir, 'state')}\n`;
  writeFileSync(cfg, `${base}tier: workstation\n`);
  const r = run(['--config', cfg, '--no-kernel-sensor', '--log-level', 'debug']);
  t.after(() => {
    r.child.kill('SIGKILL');
  });
  await waitFor(
    'the agent to connect',
    () => {
      if (r.child.exitCode !== null) throw new Error(`agent exited ${r.child.exitCode}: ${r.output()}`);
      return /telemetry session open/.test(r.output());
    },
    30_000,
  );
  assert.equal((await srv.storage.listAgents()).length, 1);
  writeFileSync(cfg, `${base}tier: server\n`);
  // A second agent on the same state directory is refused while this one runs.
  const second = run(['--config', cfg]);
  assert.equal(await withTimeout(second.exit, 20_000, 'second agent'), 2);
  assert.match(second.output(), /another agent \(pid \d+\) is already running with state directory/);
  r.child.kill('SIGHUP');
  await waitFor('the tier change', () => /"tier":"server".*telemetry tier changed/.test(r.output()), 10_000);
  r.child.kill('SIGTERM');
  assert.equal(await withTimeout(r.exit, 15_000, 'clean stop'), 0);
  assert.match(r.output(), /agent stopped/);
});

test('default sensors (root, real kernel): a real exec reaches the server; the agent drops its own file activity', async (t) => {
  const srv = await server(t);
  const dir = tempDir('palisade-agent-main-');
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, srv.caPem);
  const stateDir = join(dir, 'state');
  const r = run(['--server', srv.registrationUrl, '--ca', ca, '--state-dir', stateDir], {
    PALISADE_REGISTRATION_KEY: readKey(srv.dataDir),
  });
  t.after(() => {
    r.child.kill('SIGKILL');
  });
  await waitFor(
    'the agent to connect',
    () => {
      if (r.child.exitCode !== null) throw new Error(`agent exited ${r.child.exitCode}: ${r.output()}`);
      return /telemetry session open/.test(r.output());
    },
    30_000,
  );
  const [agent] = await srv.storage.listAgents();
  assert.ok(agent);
  // This test process is not a descendant of the agent process, so its exec is reported.
  const marker = `palisade-main-${process.pid}-${Date.now()}`;
  await new Promise<void>((resolve, reject) =>
    execFile('/bin/echo', [marker], { cwd: dir }, (err) => (err ? reject(err) : resolve())),
  );
  const found = await waitFor('the exec event', async () => {
    const page = await srv.storage.searchEvents({ agentId: agent.id, contains: marker, limit: 10 });
    return page.events.find((e) => e.event.classUid === 1007 && e.event.process?.argv[1] === marker);
  });
  assert.deepEqual(found.event.process?.argv, ['/bin/echo', marker]);
  assert.equal(found.event.process?.cwd, dir);
  assert.equal(found.event.process?.ppid, process.pid);
  // The agent writes its spool all the time: none of that comes back as file activity.
  const own = await srv.storage.searchEvents({ agentId: agent.id, contains: stateDir, limit: 10 });
  assert.deepEqual(
    own.events.map((e) => e.event.file?.path),
    [],
  );
  r.child.kill('SIGTERM');
  assert.equal(await withTimeout(r.exit, 15_000, 'clean stop'), 0);
});

test('a registration key on the command line is refused: every local user can read it there', async () => {
  const r = run([
    '--server',
    'https://127.0.0.1:1',
    '--state-dir',
    tempDir('palisade-agent-main-'),
    '--registration-key',
    'prk_secret_value',
  ]);
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(
    r.output(),
    /--registration-key is refused: a command line is readable by every local user .*--registration-key-file PATH, --registration-key-file - \(standard input\), PALISADE_REGISTRATION_KEY/,
  );
  assert.ok(!r.output().includes('prk_secret_value'));
});

test('bad key files are clear errors naming the file', async () => {
  const dir = tempDir('palisade-agent-main-');
  for (const [content, want] of [
    ['', /holds no registration key/],
    ['prk_a prk_b\n', /holds more than one word/],
    ['x'.repeat(5000), /holds 5000 bytes: not a registration key/],
  ] as const) {
    const f = join(dir, 'key');
    writeFileSync(f, content);
    const r = run([
      '--server',
      'https://127.0.0.1:1',
      '--state-dir',
      join(dir, `s${content.length}`),
      '--registration-key-file',
      f,
    ]);
    assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
    assert.match(r.output(), new RegExp(`palisade agent: ${f} ${want.source}`));
  }
  const r = run([
    '--server',
    'https://127.0.0.1:1',
    '--state-dir',
    join(dir, 'none'),
    '--registration-key-file',
    join(dir, 'missing'),
  ]);
  assert.equal(await withTimeout(r.exit, 20_000, 'exit'), 2);
  assert.match(r.output(), /cannot read the registration key from .*missing: ENOENT/);
});

test('registers with the key from standard input (--registration-key-file -), and later starts need no key', async (t) => {
  const srv = await server(t);
  const dir = tempDir('palisade-agent-main-');
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, srv.caPem);
  const args = [
    '--server',
    srv.registrationUrl,
    '--ca',
    ca,
    '--state-dir',
    join(dir, 'state'),
    '--no-kernel-sensor',
  ];
  const key = readKey(srv.dataDir);
  const r = run([...args, '--registration-key-file', '-'], {}, `${key}\n`);
  t.after(() => {
    r.child.kill('SIGKILL');
  });
  await waitFor(
    'the agent to connect',
    () => {
      if (r.child.exitCode !== null) throw new Error(`agent exited ${r.child.exitCode}: ${r.output()}`);
      return /telemetry session open/.test(r.output());
    },
    30_000,
  );
  assert.ok(!readFileSync(`/proc/${r.child.pid}/cmdline`, 'utf8').includes(key), 'the key is not in argv');
  r.child.kill('SIGTERM');
  assert.equal(await withTimeout(r.exit, 15_000, 'clean stop'), 0);
  // Registered: a key file that is gone by now (removed after enrolment) does not matter.
  const again = run([...args, '--registration-key-file', join(dir, 'removed-after-enrolment')]);
  t.after(() => {
    again.child.kill('SIGKILL');
  });
  await waitFor('the second start to connect', () => /telemetry session open/.test(again.output()), 30_000);
  again.child.kill('SIGTERM');
  assert.equal(await withTimeout(again.exit, 15_000, 'clean stop'), 0);
});

test('the key from PALISADE_REGISTRATION_KEY does not reach the processes the agent starts (root, real helper)', async (t) => {
  const srv = await server(t);
  const dir = tempDir('palisade-agent-main-');
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, srv.caPem);
  const key = readKey(srv.dataDir);
  const r = run(['--server', srv.registrationUrl, '--ca', ca, '--state-dir', join(dir, 'state')], {
    PALISADE_REGISTRATION_KEY: key,
  });
  t.after(() => {
    r.child.kill('SIGKILL');
  });
  const children = () =>
    readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === r.child.pid;
        } catch {
          return false;
        }
      });
  // The eBPF helper is a child for as long as the agent runs.
  const [helper] = await waitFor(
    'a child of the agent',
    () => {
      if (r.child.exitCode !== null) throw new Error(`agent exited ${r.child.exitCode}: ${r.output()}`);
      const c = children();
      return c.length > 0 && /telemetry session open/.test(r.output()) ? c : undefined;
    },
    30_000,
  );
  const environ = readFileSync(`/proc/${helper}/environ`, 'utf8');
  assert.ok(environ.length > 0, 'the child has an environment');
  assert.ok(!environ.includes('PALISADE_REGISTRATION_KEY'), 'no key variable in the child');
  assert.ok(!environ.includes(key), 'no key value in the child');
  assert.match(readlinkSync(`/proc/${helper}/exe`), /palisade-sensor$/);
  r.child.kill('SIGTERM');
  assert.equal(await withTimeout(r.exit, 15_000, 'clean stop'), 0);
});
