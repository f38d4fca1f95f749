import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServerConfigError } from './config.js';
import { resolveLimits } from './limits/listener-limits.js';
import { DEFAULT_DATA_DIR, parseServerArgs } from './main.js';

const tmp = mkdtempSync(join(tmpdir(), 'palisade-main-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('--rules-dir is repeatable and lands in the detection options', () => {
  const o = parseServerArgs(['--rules-dir', '/srv/sigma/rules/linux', '--rules-dir', '/srv/ours']);
  assert.deepEqual(o.detection?.rulesDirs, ['/srv/sigma/rules/linux', '/srv/ours']);
  assert.equal(parseServerArgs([]).detection, undefined);
});

test('flags and a YAML config file become server options; flags win', () => {
  const file = join(tmp, 'server.yaml');
  writeFileSync(file, 'data-dir: /srv/palisade\nregistration-port: 8443\npublic-host: edr.example.test\n');
  const o = parseServerArgs(['--config', file, '--registration-port', '9443', '--telemetry-port', '0']);
  assert.equal(o.dataDir, '/srv/palisade');
  assert.equal(o.registrationPort, 9443);
  assert.equal(o.telemetryPort, 0);
  assert.equal(o.publicHost, 'edr.example.test');
  assert.equal(parseServerArgs([]).dataDir, DEFAULT_DATA_DIR);
  process.env.PALISADE_LOG_LEVEL = 'warn';
  try {
    assert.equal(parseServerArgs([]).logLevel, 'warn');
    assert.equal(parseServerArgs(['--log-level', 'debug']).logLevel, 'debug');
  } finally {
    delete process.env.PALISADE_LOG_LEVEL;
  }
});

test('listener limits come from flags and the config file, timeouts in seconds; bad ones are clear errors', () => {
  const file = join(tmp, 'limits.yaml');
  writeFileSync(file, 'registration-per-minute: 10\nmax-connections: 800\nheader-timeout: 20\n');
  const o = parseServerArgs(['--config', file, '--max-connections', '500', '--handshake-timeout', '5']);
  assert.deepEqual(o.limits, {
    registrationPerMinute: 10,
    maxConnections: 500,
    headersTimeoutMs: 20_000,
    handshakeTimeoutMs: 5000,
  });
  assert.throws(
    () => parseServerArgs(['--handshake-timeout', '0']),
    /flag: handshake-timeout must be a whole number of seconds from 1 to 3600, got "0"/,
  );
  assert.throws(
    () => parseServerArgs(['--max-unauthenticated', 'lots']),
    /max-unauthenticated must be a whole number/,
  );
  assert.throws(
    () => resolveLimits({ maxConnections: 10, maxUnauthenticated: 20 }),
    /maxUnauthenticated must not be above maxConnections/,
  );
  assert.throws(
    () => resolveLimits({ headersTimeoutMs: 60_000 }),
    /headersTimeoutMs must not be above requestTimeoutMs/,
  );
});

test('unknown config keys, bad values and unknown flags are clear errors', () => {
  const unknown = join(tmp, 'unknown.yaml');
  writeFileSync(unknown, 'data-dir: /x\nlisten-port: 1\n');
  assert.throws(
    () => parseServerArgs(['--config', unknown]),
    (e: Error) => {
      assert.ok(e instanceof ServerConfigError);
      assert.match(e.message, /unknown setting "listen-port"/);
      assert.match(e.message, /unknown\.yaml/);
      return true;
    },
  );
  const badPort = join(tmp, 'bad-port.yaml');
  writeFileSync(badPort, 'telemetry-port: 70000\n');
  assert.throws(
    () => parseServerArgs(['--config', badPort]),
    /telemetry-port must be an integer from 0 to 65535/,
  );
  const notMap = join(tmp, 'list.yaml');
  writeFileSync(notMap, '- a\n- b\n');
  assert.throws(() => parseServerArgs(['--config', notMap]), /must be a mapping/);
  assert.throws(() => parseServerArgs(['--config', join(tmp, 'missing.yaml')]), /missing\.yaml/);
  assert.throws(
    () => parseServerArgs(['--registration-port', 'abc']),
    /registration-port must be an integer/,
  );
  assert.throws(() => parseServerArgs(['--bogus', '1']), /bogus/);
});

test('the server command prints where it listens, never logs secrets, and stops cleanly on SIGTERM', async () => {
  const dataDir = join(tmp, 'proc');
  const mainJs = fileURLToPath(new URL('./main.js', import.meta.url));
  const script = join(tmp, 'run-server.mjs');
  writeFileSync(
    script,
    `import { runServerCommand } from ${JSON.stringify(mainJs)};\nawait runServerCommand(process.argv.slice(2));\n`,
  );
  const child = spawn(
    process.execPath,
    [
      script,
      '--data-dir',
      dataDir,
      '--registration-port',
      '0',
      '--telemetry-port',
      '0',
      '--log-level',
      'debug',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  after(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  for (let i = 0; i < 200 && !out.includes('telemetry:'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(out, /registration \+ API: https:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /telemetry: +wss:\/\/127\.0\.0\.1:\d+\/v1\/telemetry/);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000)),
  ]);
  assert.equal(code, 0, `exit ${code}; stderr: ${err.slice(-2000)}`);
  assert.match(out, /received SIGTERM, stopping/);
  // Logs are JSON lines on stderr and contain neither the registration key nor the admin token.
  const lines = err.trim().split('\n');
  assert.ok(lines.length >= 2);
  for (const l of lines) JSON.parse(l);
  assert.ok(!err.includes(readFileSync(join(dataDir, 'registration-key'), 'utf8').trim()));
  assert.ok(!err.includes(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim()));
  assert.ok(!err.includes('PRIVATE KEY'));
});
