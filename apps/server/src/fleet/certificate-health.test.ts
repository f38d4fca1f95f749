// Certificates near expiry are flagged 30 days ahead (agents, the server's own) and CAs a year
// ahead: in the agent view, in /api/v1/health and in `palisade agents list`. Injected clock,
// real server, real TLS.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { DAY_MS, ManualClock } from '@palisade/common';
import { SimulatedAgent } from '@palisade/testkit';
import { startTestServer } from '../testing/harness.js';
import { createCa } from '../tls/pki.js';
import type { TlsMaterial } from '../tls/tls-files.js';
import { tlsHealth } from './certificate-health.js';

test('an agent certificate and the server certificate are flagged 30 days before they expire', async (t) => {
  const day0 = Date.now() - DAY_MS;
  const clock = new ManualClock(day0);
  // The TLS check never runs here, so the server's own certificate ages like an unrenewed one.
  const srv = await startTestServer({ clock, tlsCheckIntervalMs: 3_600_000 });
  t.after(() => srv.stop());
  const a = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  const notAfter = Date.parse(new X509Certificate(a.identity.certPem).validTo);
  const view = async () => (await srv.api('GET', `/api/v1/agents/${a.agentId}`)).json.certificate;
  const health = async () => (await srv.api('GET', '/api/v1/health')).json;

  clock.set(notAfter - 31 * DAY_MS);
  assert.equal((await view()).warning, null);
  assert.equal((await view()).days_left, 31);
  let h = await health();
  assert.deepEqual(h.warnings, []);
  assert.equal(h.agent_certificates_expiring, 0);

  clock.set(notAfter - 29 * DAY_MS);
  const v = await view();
  assert.equal(v.days_left, 29);
  assert.match(v.warning, /agent certificate expires in 29 days .*renews it over mutual TLS/);
  h = await health();
  assert.equal(h.status, 'ok');
  assert.equal(h.agent_certificates_expiring, 1);
  assert.ok(
    h.warnings.some((w: string) => /1 agent certificate expires within 30 days/.test(w)),
    h.warnings,
  );
  assert.ok(
    h.warnings.some((w: string) => /server certificate expires in 2\d days/.test(w)),
    h.warnings,
  );
  assert.equal(h.server_certificate.days_left < 30, true);

  clock.set(notAfter + DAY_MS);
  assert.match((await view()).warning, /agent certificate expired on/);
  // Revoked and decommissioned agents are not counted or flagged.
  await srv.api('POST', `/api/v1/agents/${a.agentId}/revoke`, { body: {} });
  assert.equal((await view()).warning, null);
  assert.equal((await health()).agent_certificates_expiring, 0);
});

test('a CA is flagged a year before it expires (a rotation needs an overlap); a next CA is not', async () => {
  const now = Date.UTC(2030, 0, 1);
  const near = await createCa(now - 9 * 365 * DAY_MS - 10 * DAY_MS);
  const fresh = await createCa(now);
  const m = (cas: TlsMaterial['cas']): TlsMaterial => ({
    clientCaPem: '',
    serverCaPem: '',
    serverCertPem: '',
    serverKeyPem: '',
    serverCertNotAfter: now + 200 * DAY_MS,
    serverCertSource: 'self-made',
    cas,
  });
  const h = tlsHealth(m([{ role: 'active', certPem: near.certPem }]), now);
  assert.equal(h.warnings.length, 1);
  assert.match(h.warnings[0]!, /active CA "CN=Palisade CA" expires in 35\d days .*palisade ca rotate/);
  assert.deepEqual(tlsHealth(m([{ role: 'active', certPem: fresh.certPem }]), now).warnings, []);
  assert.deepEqual(
    tlsHealth(
      m([
        { role: 'active', certPem: fresh.certPem },
        { role: 'previous', certPem: near.certPem },
      ]),
      now,
    ).warnings,
    [],
  );
});
