// The curl examples (README and what the quickstart prints) must not put the admin token in a
// command line, where every user of the host can read it (ps, /proc/PID/cmdline). They are run
// for real against a real server, through a curl wrapper that records its argv.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RunningServer, startServer } from '@palisade/server';
import { removeTempDir, tempDir } from '@palisade/testkit';
import { agentLaunch, curlExample } from './quickstart.js';

const README = join(dirname(fileURLToPath(import.meta.url)), '../../../README.md');

describe('curl examples keep the admin token out of argv', () => {
  const dataDir = tempDir('palisade-curl-srv-');
  const bin = tempDir('palisade-curl-bin-');
  const argvLog = join(bin, 'argv.log');
  let srv: RunningServer;
  let token: string;
  before(async () => {
    srv = await startServer({ dataDir, registrationPort: 0, telemetryPort: 0, logLevel: 'silent' });
    token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    // A curl that writes down its arguments, then runs the real one.
    writeFileSync(
      join(bin, 'curl'),
      `#!/bin/sh\nprintf '%s\\n' "$@" >> ${argvLog}\nexec /usr/bin/curl -s "$@"\n`,
    );
    chmodSync(join(bin, 'curl'), 0o755);
  });
  after(async () => {
    await srv?.close();
    removeTempDir(dataDir);
    removeTempDir(bin);
  });

  /**
   * run runs a shell snippet with the recording curl first on PATH (asynchronously: the server
   * answering it runs in this process); returns stdout and curl's argv.
   */
  async function run(snippet: string): Promise<{ stdout: string; argv: string }> {
    writeFileSync(argvLog, '');
    const { stdout } = await promisify(execFile)('/bin/sh', ['-c', snippet], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { stdout, argv: readFileSync(argvLog, 'utf8') };
  }

  test('the README example', async () => {
    const block = /```sh\n(D=\/var\/lib\/palisade\/server\n[^`]*?curl[^`]*?)```/.exec(
      readFileSync(README, 'utf8'),
    )?.[1];
    assert.ok(block, 'the README has a curl example block');
    const snippet = block
      .replaceAll('/var/lib/palisade/server', dataDir)
      .replaceAll('https://127.0.0.1:7443', srv.registrationUrl);
    const { stdout, argv } = await run(snippet);
    assert.ok(argv.includes('--cacert'), `curl ran: ${argv}`);
    assert.ok(!argv.includes(token), `the token is in curl's argv:\n${argv}`);
    assert.ok(Array.isArray(JSON.parse(stdout).events), stdout);
  });

  test('the example the quickstart prints', async () => {
    const line = curlExample(
      { caFile: join(dataDir, 'tls', 'ca.pem'), apiUrl: srv.registrationUrl },
      join(dataDir, 'admin-token'),
    );
    const { stdout, argv } = await run(line);
    assert.ok(!argv.includes(token), `the token is in curl's argv:\n${argv}`);
    assert.ok(!line.includes(token));
    assert.ok(Array.isArray(JSON.parse(stdout).events), stdout);
  });
});

test('the quickstart hands its agent the registration key file, never the key in argv or the environment', () => {
  const argv = agentLaunch(
    { registrationUrl: 'https://127.0.0.1:7443', caFile: '/x/ca.pem' },
    '/var/lib/palisade/agent',
    '/var/lib/palisade/server/registration-key',
  );
  assert.deepEqual(
    argv.slice(argv.indexOf('--registration-key-file'), argv.indexOf('--registration-key-file') + 2),
    ['--registration-key-file', '/var/lib/palisade/server/registration-key'],
  );
  assert.ok(!argv.some((a) => a.startsWith('prk_')), argv.join(' '));
  assert.ok(argv.includes('--server') && argv.includes('--state-dir'));
});
