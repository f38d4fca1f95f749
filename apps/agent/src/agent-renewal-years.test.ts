// Two simulated years with a real `palisade agent` process (ADR 0015). The server runs in this
// process on an injected clock; the agent process reads the same time from a file (the test-only
// PALISADE_TEST_CLOCK_FILE). TLS checks certificates against real time, and the server issues
// them so that a real handshake accepts them. Nothing is restarted: the agent renews its
// certificate at two thirds of its life (twice), the server its own, and at day 730 the agent
// still checks in and streams with a certificate that is good for months.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DAY_MS, ManualClock } from '@palisade/common';
import { startServer } from '@palisade/server';
import {
  type AgentIdentity,
  type RegistrationRefused,
  checkIn,
  sleep,
  tempDir,
  waitFor,
} from '@palisade/testkit';
import { readKey } from './agent-harness.test-util.js';
import { stopProcess } from './server-process.test-util.js';

const fixture = fileURLToPath(new URL('./main.fixture.js', import.meta.url));
const sha = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

test('two simulated years: a real agent process renews its certificate twice and the server its own; nothing stops', async (t) => {
  const day0 = Date.now() - DAY_MS;
  const clock = new ManualClock(day0);
  const stateDir = tempDir('palisade-years-agent-');
  const clockFile = join(tempDir('palisade-years-clock-'), 'now');
  const at = (day: number) => {
    clock.set(day0 + day * DAY_MS);
    writeFileSync(clockFile, String(clock.now()));
  };
  at(0);
  const srv = await startServer({
    dataDir: tempDir('palisade-years-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
    clock,
    tlsCheckIntervalMs: 200,
    sessionRecheckMs: 500,
  });
  t.after(() => srv.close());
  const caFile = join(srv.dataDir, 'tls', 'ca.pem');

  let out = '';
  const agent: ChildProcess = spawn(
    process.execPath,
    [fixture, '--server', srv.registrationUrl, '--ca', caFile, '--state-dir', stateDir, '--no-kernel-sensor'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PALISADE_REGISTRATION_KEY: readKey(srv.dataDir),
        PALISADE_TEST_CLOCK_FILE: clockFile,
        PALISADE_TEST_CHECKIN_INTERVAL_MS: '300',
      },
    },
  );
  agent.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  agent.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  t.after(() => stopProcess(agent, 'SIGKILL'));
  const explain = (err: Error) => {
    throw new Error(`${err.message}\n--- agent output ---\n${out.slice(-4000)}`);
  };

  const agentId = await waitFor(
    'the agent to register and connect',
    () => {
      const [s] = [...srv.sessions.all()];
      return s?.agentId;
    },
    30_000,
  ).catch(explain);
  const file = (name: string) => readFileSync(join(stateDir, name), 'utf8');
  const record = async () => (await srv.storage.getAgent(agentId))!;
  /** waitRenewed waits until the agent runs on a certificate other than `fp`, confirmed and committed. */
  const waitRenewed = (fp: string) =>
    waitFor(
      'the renewed certificate in use',
      async () => {
        const r = await record();
        const s = srv.sessions.get(agentId);
        const onDisk = sha(file('agent.crt'));
        return r.certFingerprint !== fp &&
          r.pendingCert === null &&
          onDisk === r.certFingerprint &&
          s?.certFingerprint === r.certFingerprint &&
          !existsSync(join(stateDir, 'agent.next.key')) &&
          !existsSync(join(stateDir, 'agent.next.crt'))
          ? r
          : undefined;
      },
      30_000,
    ).catch(explain);
  const serverCert = () => sha(readFileSync(join(srv.dataDir, 'tls', 'server.pem'), 'utf8'));
  const lastSeenAfter = (day: number) =>
    waitFor(
      'a check-in at this time',
      async () => ((await record()).lastSeenAt ?? 0) >= day0 + day * DAY_MS,
      10_000,
    ).catch(explain);

  const first = await record();
  const firstPair: AgentIdentity = {
    agentId,
    keyPem: file('agent.key'),
    certPem: file('agent.crt'),
    caPem: file('ca.crt'),
    groupId: first.groupId,
    registrationUrl: srv.registrationUrl,
    endpoints: undefined,
  };
  assert.equal(sha(firstPair.certPem), first.certFingerprint);
  const firstServerCert = serverCert();

  // Nothing renews before two thirds of a year.
  for (const day of [100, 200, 240]) {
    at(day);
    await lastSeenAfter(day);
  }
  await sleep(1000);
  assert.equal((await record()).certFingerprint, first.certFingerprint, 'no renewal before day 243');
  assert.equal(serverCert(), firstServerCert);

  // Day 245: past two thirds of the first year. The agent renews with a new key; the server renews its own.
  at(245);
  const second = await waitRenewed(first.certFingerprint);
  assert.notEqual(file('agent.key'), firstPair.keyPem, 'a new key pair');
  assert.equal(second.certNotAfter, Math.floor((day0 + (245 + 365) * DAY_MS) / 1000) * 1000);
  await waitFor('the renewed server certificate', () => serverCert() !== firstServerCert, 10_000);
  // The retired certificate is refused.
  const refused = await checkIn(firstPair).then(
    () => assert.fail('the retired certificate should be refused'),
    (e: unknown) => e as RegistrationRefused,
  );
  assert.equal(refused.status, 401);
  assert.match(refused.message, /not the certificate issued to this agent/);

  // Day 366: the first certificate would have expired; the agent does not notice.
  at(366);
  await lastSeenAfter(366);
  assert.ok(srv.sessions.get(agentId), 'still connected');

  // Day 490: two thirds into the second certificate (issued on day 245).
  at(490);
  const third = await waitRenewed(second.certFingerprint);
  assert.equal(third.certNotAfter, Math.floor((day0 + (490 + 365) * DAY_MS) / 1000) * 1000);

  // Day 730: two years after enrolment, the agent checks in and streams; no warnings anywhere.
  at(730);
  await lastSeenAfter(730);
  await waitFor(
    'a telemetry session at day 730',
    () => srv.sessions.get(agentId)?.certFingerprint === third.certFingerprint,
    10_000,
  );
  const api = await fetchHealth(srv.registrationUrl, srv.caPem);
  assert.deepEqual(api.warnings, [], JSON.stringify(api));
  assert.ok(
    api.server_certificate.days_left > 100,
    `server certificate: ${JSON.stringify(api.server_certificate)}`,
  );
  assert.ok(third.certNotAfter! - clock.now() > 100 * DAY_MS);
  assert.equal(agent.exitCode, null, 'the agent never exited');
  assert.match(out, /certificate renewed/);
  await stopProcess(agent, 'SIGTERM');
  assert.equal(agent.exitCode, 0, out.slice(-2000));
});

async function fetchHealth(url: string, ca: string) {
  const { httpsRequest } = await import('@palisade/testkit');
  const r = await httpsRequest(`${url}/api/v1/health`, { ca });
  return JSON.parse(r.body.toString()) as {
    warnings: string[];
    server_certificate: { days_left: number };
  };
}
