// The server's own certificate while it runs (ADR 0015): renewed at two thirds of its life on every
// listener without a restart, operator-replaced files picked up (a broken replacement refused), and
// a standby-only process that holds no CA key. Real TLS; the server's clock injected.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { test } from 'node:test';
import { DAY_MS, ManualClock } from '@palisade/common';
import { SimulatedAgent, makeProcessEvent, sleep, tempDir, waitFor } from '@palisade/testkit';
import { startStandbyServer } from '../standby-server.js';
import { startTestServer } from '../testing/harness.js';
import { createCa, importCaKey, issueServerCertificate } from './pki.js';

/** served is the sha256 of the certificate a TLS listener presents, after verifying it with `ca`. */
function served(url: string, ca: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: Number(u.port), ca, servername: 'localhost' });
    s.once('secureConnect', () => {
      const fp = s.getPeerCertificate().fingerprint256.replaceAll(':', '').toLowerCase();
      const ok = s.authorized;
      s.destroy();
      if (ok) resolve(fp);
      else reject(new Error(`${url}: ${s.authorizationError}`));
    });
    s.once('error', reject);
  });
}

const fileFp = (path: string) =>
  new X509Certificate(readFileSync(path)).fingerprint256.replaceAll(':', '').toLowerCase();

test('the self-made server certificate is renewed at two thirds of its life on every listener, without a restart', async (t) => {
  const day0 = Date.now() - DAY_MS;
  const clock = new ManualClock(day0);
  const srv = await startTestServer({ clock, tlsCheckIntervalMs: 100 });
  t.after(() => srv.stop());
  // A standby-only process on the same data directory follows the primary's renewal.
  const standby = await startStandbyServer({
    dataDir: srv.dataDir,
    standbyPort: 0,
    logLevel: 'silent',
    tlsCheckIntervalMs: 100,
  });
  t.after(() => standby.close());
  const certFile = join(srv.dataDir, 'tls', 'server.pem');
  const urls = [
    srv.server.registrationUrl,
    srv.server.telemetryUrl,
    srv.server.standbyUrl,
    standby.standbyUrl,
  ];
  const all = () => Promise.all(urls.map((u) => served(u, srv.server.caPem)));
  const first = fileFp(certFile);
  assert.deepEqual(
    await all(),
    urls.map(() => first),
  );

  const a = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  await a.connect();
  t.after(() => a.close());

  clock.set(day0 + 243 * DAY_MS);
  await sleep(500);
  assert.equal(fileFp(certFile), first, 'not yet at two thirds of its life');

  clock.set(day0 + 244 * DAY_MS);
  const second = await waitFor('a renewed certificate file', () => {
    const fp = fileFp(certFile);
    return fp !== first ? fp : undefined;
  });
  const cert = new X509Certificate(readFileSync(certFile));
  assert.equal(Date.parse(cert.validTo), Math.floor((day0 + (244 + 365) * DAY_MS) / 1000) * 1000);
  await waitFor(
    'every listener serving the renewed certificate',
    async () => (await all()).every((fp) => fp === second),
    10_000,
  );
  // The session opened before keeps streaming; new registrations and connections work.
  assert.equal((await a.sendBatch([makeProcessEvent(1)])).duplicate, false);
  const b = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  await b.connect({ url: standby.standbyUrl });
  assert.equal((await b.sendBatch([makeProcessEvent(2)])).duplicate, false);
  await b.close();
  const health = await srv.api('GET', '/api/v1/health');
  assert.equal(
    health.json.server_certificate.not_after,
    cert.validTo && new Date(cert.validTo).toISOString(),
  );
  assert.deepEqual(health.json.warnings, []);
});

test('operator-replaced certificate files are picked up by every listener; a broken replacement is refused', async (t) => {
  const dir = tempDir('palisade-operator-reload-');
  const ca = await createCa(Date.now(), 'Operator Root');
  const signer = { certPem: ca.certPem, key: await importCaKey(ca.keyPem) };
  const files = { cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem'), ca: join(dir, 'ca.pem') };
  const put = (p: { certPem: string; keyPem: string }) => {
    writeFileSync(files.key, p.keyPem, { mode: 0o600 });
    writeFileSync(files.cert, p.certPem);
  };
  const names = ['localhost', '127.0.0.1'];
  put(await issueServerCertificate(signer, names, Date.now()));
  writeFileSync(files.ca, ca.certPem);
  const srv = await startTestServer({
    tlsCertFile: files.cert,
    tlsKeyFile: files.key,
    caCertFile: files.ca,
    tlsCheckIntervalMs: 100,
  });
  t.after(() => srv.stop());
  const urls = [srv.server.registrationUrl, srv.server.telemetryUrl, srv.server.standbyUrl];
  const all = () => Promise.all(urls.map((u) => served(u, ca.certPem)));
  assert.deepEqual(
    await all(),
    urls.map(() => fileFp(files.cert)),
  );

  const next = await issueServerCertificate(signer, names, Date.now());
  put(next);
  const want = fileFp(files.cert);
  await waitFor('the replaced certificate on every listener', async () =>
    (await all()).every((f) => f === want),
  );

  // A certificate with somebody else's key: refused, the current one stays in service.
  const other = await issueServerCertificate(signer, names, Date.now());
  writeFileSync(files.cert, other.certPem);
  await sleep(600);
  assert.deepEqual(
    await all(),
    urls.map(() => want),
  );
  const agent = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  await agent.connect();
  assert.equal((await agent.sendBatch([makeProcessEvent(1)])).duplicate, false);
  await agent.close();
});

test('a standby-only process runs with ca.pem, server.pem and server-key.pem only: no CA key, nothing written', async (t) => {
  const primary = await startTestServer({ tlsCheckIntervalMs: 100 });
  t.after(() => primary.stop());
  const dir = tempDir('palisade-standby-nokey-');
  mkdirSync(join(dir, 'tls'), { mode: 0o700 });
  for (const f of ['ca.pem', 'server.pem', 'server-key.pem'])
    copyFileSync(join(primary.dataDir, 'tls', f), join(dir, 'tls', f));
  // Missing its server certificate, it says which file it needs.
  const bare = tempDir('palisade-standby-nokey-');
  mkdirSync(join(bare, 'tls'), { mode: 0o700 });
  copyFileSync(join(primary.dataDir, 'tls', 'ca.pem'), join(bare, 'tls', 'ca.pem'));
  await assert.rejects(
    startStandbyServer({
      dataDir: bare,
      storage: primary.server.storage,
      standbyPort: 0,
      logLevel: 'silent',
    }),
    /tls\/server\.pem is missing/,
  );
  const standby = await startStandbyServer({
    dataDir: dir,
    storage: primary.server.storage,
    standbyPort: 0,
    logLevel: 'silent',
    tlsCheckIntervalMs: 100,
  });
  t.after(() => standby.close());
  const a = await SimulatedAgent.register({
    registrationUrl: primary.server.registrationUrl,
    registrationKey: primary.registrationKey,
    caPem: primary.server.caPem,
  });
  await a.connect({ url: standby.standbyUrl });
  assert.equal((await a.sendBatch([makeProcessEvent(1)])).duplicate, false);
  await a.close();
  assert.deepEqual(readdirSync(join(dir, 'tls')).sort(), ['ca.pem', 'server-key.pem', 'server.pem']);
});
