import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SimulatedAgent, httpsRequest, makeProcessEvent } from '@palisade/testkit';
import { startTestServer } from '../testing/harness.js';
import { createCa, importCaKey, issueServerCertificate, splitPem } from './pki.js';

test('operator-supplied server certificate: served to clients, its CA handed to agents; agents still stream', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-operator-certs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = await createCa(Date.now(), 'Operator Root');
  const server = await issueServerCertificate(
    { certPem: ca.certPem, key: await importCaKey(ca.keyPem) },
    ['localhost', '127.0.0.1'],
    Date.now(),
  );
  const files = { cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem'), ca: join(dir, 'ca.pem') };
  writeFileSync(files.cert, server.certPem);
  writeFileSync(files.key, server.keyPem, { mode: 0o600 });
  writeFileSync(files.ca, ca.certPem);

  const t = await startTestServer({ tlsCertFile: files.cert, tlsKeyFile: files.key, caCertFile: files.ca });
  try {
    // Agents pin the operator's CA (it verifies the server) and the Palisade CA (it issued their
    // own certificates, which they check at start-up).
    const pinned = splitPem(t.server.caPem);
    assert.equal(pinned.length, 2);
    assert.equal(pinned[0], splitPem(ca.certPem)[0]);
    assert.equal(pinned[1], splitPem(readFileSync(join(t.dataDir, 'tls', 'ca.pem'), 'utf8'))[0]);
    // The operator's CA verifies the server; the server's own CA does not.
    const ok = await httpsRequest(`${t.server.registrationUrl}/api/v1/health`, { ca: ca.certPem });
    assert.equal(ok.status, 200);
    const a = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: ca.certPem,
    });
    assert.equal(a.identity.caPem, t.server.caPem);
    await a.connect();
    assert.equal((await a.sendBatch([makeProcessEvent(1)])).duplicate, false);
    await a.close();
  } finally {
    await t.stop();
  }
});

test('a certificate without its key is a clear startup error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-operator-certs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(
    startTestServer({ tlsCertFile: join(dir, 'x.pem') }),
    /tlsCertFile and tlsKeyFile must be given together/,
  );
});
