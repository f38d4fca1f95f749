// Rotating the certificate authority with an overlap (ADR 0015), with a real agent: the next CA
// reaches it over its mutual-TLS check-in, the switch re-issues the server certificate and makes
// the agent renew, retiring the previous CA leaves it on the new one only. Each step refuses while
// the fleet has not followed. A CA bundle that does not check out is never pinned. Real TLS.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { test } from 'node:test';
import type { Logger } from '@palisade/common';
import { CheckInResponseSchema, create } from '@palisade/protocol';
import { startServer } from '@palisade/server';
import { SimulatedAgent, httpsRequest, renewAgent, tempDir, waitFor } from '@palisade/testkit';
import { startAgent } from '../agent.js';
import { readKey } from '../agent-harness.test-util.js';
import { CredentialManager } from './credential-manager.js';
import { loadIdentity, parseCaBundle } from './identity-store.js';

const sha = (pem: string) => new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();

/** verifies tells whether `ca` (PEM) verifies the certificate the listener at `url` serves. */
function verifies(url: string, ca: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: Number(u.port), ca, servername: 'localhost' });
    s.once('secureConnect', () => {
      resolve(s.authorized);
      s.destroy();
    });
    s.once('error', () => resolve(false));
  });
}

test('CA rotation: introduce, activate, retire; the agent follows over check-in and renews; each step waits for the fleet', async (t) => {
  const srv = await startServer({
    dataDir: tempDir('palisade-ca-rotation-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
    tlsCheckIntervalMs: 200,
    sessionRecheckMs: 300,
  });
  t.after(() => srv.close());
  const token = readFileSync(join(srv.dataDir, 'admin-token'), 'utf8').trim();
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await httpsRequest(`${srv.registrationUrl}/api/v1${path}`, {
      method,
      ca: srv.caPem,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests probe the JSON freely
    return { status: r.status, json: JSON.parse(r.body.toString()) as any };
  };
  const stateDir = tempDir('palisade-ca-rotation-');
  const agent = await startAgent({
    stateDir,
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
    sensors: [],
    checkInIntervalMs: 200,
  });
  t.after(() => agent.stop());
  const sim = await SimulatedAgent.register({
    registrationUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
  });
  const pinned = () =>
    parseCaBundle(readFileSync(join(stateDir, 'ca.crt'), 'utf8')).map((c) => sha(c.toString()));
  const oldCa = readFileSync(join(srv.dataDir, 'tls', 'ca.pem'), 'utf8');
  await waitFor('connected', () => agent.channel() === 'primary');
  assert.deepEqual(pinned(), [sha(oldCa)]);

  // Step 1: the next CA. Agents pin it at their next check-in; nothing else changes.
  assert.equal((await api('POST', '/ca/rotate', { x: 1 })).status, 400);
  const r1 = await api('POST', '/ca/rotate', {});
  assert.equal(r1.status, 200, JSON.stringify(r1.json));
  assert.equal(r1.json.phase, 'next-ca-introduced');
  assert.equal((await api('POST', '/ca/rotate', {})).status, 409, 'one rotation at a time');
  const nextCa = readFileSync(join(srv.dataDir, 'tls', 'ca-next.pem'), 'utf8');
  await waitFor('the agent pins both CAs', () => pinned().length === 2 && pinned().includes(sha(nextCa)));
  await waitFor('the server knows', async () =>
    (await srv.storage.getAgent(agent.agentId))?.pinnedCaSha256.includes(sha(nextCa)),
  );

  // Step 2 waits for every active agent: the simulated one has not checked in since.
  const early = await api('POST', '/ca/activate', {});
  assert.equal(early.status, 409);
  assert.match(early.json.error.message, /1 of 2 active agents do not pin the next CA/);
  // The simulated agent follows by hand: it pins both CAs and says so.
  const simPinned = new SimulatedAgent({ ...sim.identity, caPem: `${oldCa}${nextCa}` });
  await simPinned.checkIn({ pinnedCaSha256: [sha(oldCa), sha(nextCa)] });
  const r2 = await api('POST', '/ca/activate', {});
  assert.equal(r2.status, 200, JSON.stringify(r2.json));
  assert.equal(r2.json.phase, 'previous-ca-trusted');
  // The server certificate comes from the new CA at once, on every listener.
  for (const url of [srv.registrationUrl, srv.telemetryUrl, srv.standbyUrl]) {
    assert.equal(await verifies(url, nextCa), true, `${url} verifies with the new CA`);
    assert.equal(await verifies(url, oldCa), false, `${url} no longer with the old one`);
  }
  // The agent is asked to renew, and gets its certificate from the new CA.
  await waitFor(
    'the agent renewed from the new CA',
    async () => (await srv.storage.getAgent(agent.agentId))?.certCaSha256 === sha(nextCa),
    20_000,
  );
  await waitFor('on disk', () =>
    new X509Certificate(readFileSync(join(stateDir, 'agent.crt'), 'utf8')).verify(
      new X509Certificate(nextCa).publicKey,
    ),
  );
  await waitFor('streaming again', () => agent.channel() === 'primary');

  // Step 3 waits for the simulated agent, whose certificate is still from the previous CA.
  const r3early = await api('POST', '/ca/retire', {});
  assert.equal(r3early.status, 409);
  assert.match(
    r3early.json.error.message,
    /1 of 2 active agents still hold a certificate from the previous CA/,
  );
  const renewed = new SimulatedAgent(await renewAgent(simPinned.identity));
  await renewed.checkIn();
  assert.equal((await api('POST', '/ca/retire', { force: 'yes' })).status, 400, 'force is a boolean');
  const r3 = await api('POST', '/ca/retire', {});
  assert.equal(r3.status, 200, JSON.stringify(r3.json));
  assert.equal(r3.json.phase, 'single-ca');
  await waitFor('the agent pins the new CA only', () => pinned().length === 1 && pinned()[0] === sha(nextCa));
  await waitFor('and streams', () => agent.channel() === 'primary');
  // New agents get the new CA only; the old certificate is refused.
  await assert.rejects(simPinned.checkIn(), /401/);
  assert.equal((await api('POST', '/ca/retire', {})).status, 409, 'nothing left to retire');
  assert.equal((await api('POST', '/ca/activate', {})).status, 409, 'nothing to activate');
  const audit = await api('GET', '/audit?action=ca');
  assert.deepEqual(
    audit.json.entries.map((e: { action: string }) => e.action),
    ['ca.retire', 'ca.activate', 'ca.rotate'],
  );
});

test('a CA bundle that does not check out is never pinned', async (t) => {
  const srv = await startServer({
    dataDir: tempDir('palisade-ca-bundle-srv-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  t.after(() => srv.close());
  const other = await startServer({
    dataDir: tempDir('palisade-ca-bundle-other-'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  t.after(() => other.close());
  const stateDir = tempDir('palisade-ca-bundle-');
  const a = await startAgent({
    stateDir,
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
    sensors: [],
  });
  await a.stop();
  const warnings: string[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (o: object, m = '') => warnings.push(`${m} ${JSON.stringify(o)}`),
    error() {},
    child: () => log,
  };
  const before = readFileSync(join(stateDir, 'ca.crt'), 'utf8');
  const m = new CredentialManager({
    stateDir,
    identity: loadIdentity(stateDir),
    clock: { now: () => Date.now() },
    logger: log,
  });
  const deliver = (caBundlePem: string) => m.afterCheckIn(create(CheckInResponseSchema, { caBundlePem }));
  // Another server's CA (no overlap with the pinned one), garbage, and a certificate that is no CA.
  await deliver(other.caPem);
  await deliver('not a certificate');
  await deliver(readFileSync(join(srv.dataDir, 'tls', 'server.pem'), 'utf8'));
  assert.equal(readFileSync(join(stateDir, 'ca.crt'), 'utf8'), before);
  assert.equal(warnings.length, 3, warnings.join('\n'));
  assert.match(warnings[0]!, /shares no CA with the pinned ones/);
  assert.match(warnings[1]!, /holds no PEM certificate/);
  assert.match(warnings[2]!, /is not a CA/);
});
