import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startTestServer } from '../testing/harness.js';

const mode = (p: string) => statSync(p).mode & 0o777;

test('first start creates CA, server cert, key, token and client.json with private modes; second start reuses them', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-first-start-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const first = await startTestServer({ dataDir, keepDir: true, publicHost: 'edr.example.test' });
  const files = {
    ca: join(dataDir, 'tls', 'ca.pem'),
    caKey: join(dataDir, 'tls', 'ca-key.pem'),
    cert: join(dataDir, 'tls', 'server.pem'),
    key: join(dataDir, 'tls', 'server-key.pem'),
    regKey: join(dataDir, 'registration-key'),
    token: join(dataDir, 'admin-token'),
    client: join(dataDir, 'client.json'),
  };
  assert.equal(mode(dataDir), 0o700);
  assert.equal(mode(join(dataDir, 'tls')), 0o700);
  for (const f of Object.values(files)) assert.equal(mode(f), 0o600, `${f} must be 0600`);

  assert.match(first.registrationKey, /^prk_[0-9A-Za-z]{32,}$/);
  assert.match(first.adminToken, /^pat_[0-9A-Za-z]{32,}$/);
  const ca = new X509Certificate(readFileSync(files.ca));
  assert.equal(ca.ca, true);
  assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const years = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / (365 * 86400_000);
  assert.ok(years >= 9.99 && years <= 10.01, `CA valid ${years} years`);
  const cert = new X509Certificate(readFileSync(files.cert));
  assert.ok(cert.verify(ca.publicKey), 'server certificate is signed by the CA');
  for (const name of ['localhost', 'edr.example.test']) assert.ok(cert.checkHost(name), `SAN ${name}`);
  for (const ip of ['127.0.0.1', '::1']) assert.ok(cert.checkIP(ip), `SAN ${ip}`);

  const client = JSON.parse(readFileSync(files.client, 'utf8'));
  assert.equal(client.apiUrl, first.server.registrationUrl);
  assert.equal(client.telemetryUrl, first.server.telemetryUrl);
  assert.equal(client.caFile, files.ca);
  assert.equal(client.tokenFile, files.token);

  // Secrets are stored only hashed.
  const keys = await first.server.storage.listKeys();
  assert.equal(keys.length, 1);
  assert.notEqual(keys[0]!.secretHash, first.registrationKey);
  assert.equal(keys[0]!.secretHash.length, 64);
  const year = keys[0]!.expiresAt - keys[0]!.createdAt;
  assert.equal(year, 365 * 86400_000);
  const groups = await first.server.storage.listGroups();
  assert.deepEqual(
    groups.map((g) => [g.name, g.policy]),
    [['default', { revision: 1, tier: 'server', channel: 'stable', maintenanceWindow: 'always' }]],
  );
  const before = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readFileSync(f, 'utf8')]));
  await first.stop();

  const second = await startTestServer({ dataDir, keepDir: true, publicHost: 'edr.example.test' });
  try {
    for (const k of ['ca', 'caKey', 'cert', 'key', 'regKey', 'token'] as const) {
      assert.equal(readFileSync(files[k], 'utf8'), before[k], `${k} is reused`);
    }
    assert.equal((await second.server.storage.listKeys()).length, 1);
    assert.equal((await second.server.storage.listGroups()).length, 1);
    // The token written on the first start still works.
    const health = await second.api('GET', '/api/v1/agents');
    assert.equal(health.status, 200);
  } finally {
    await second.stop();
  }
});

test('a new public host re-issues the server certificate but keeps the CA', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-first-start-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const a = await startTestServer({ dataDir, keepDir: true });
  await a.stop();
  const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
  const b = await startTestServer({ dataDir, keepDir: true, publicHost: 'moved.example.test' });
  await b.stop();
  assert.equal(readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8'), ca);
  const cert = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.pem')));
  assert.ok(cert.checkHost('moved.example.test'));
});
