// Certificate renewal over mutual TLS (POST /v1/renew, ADR 0015): real server, real TLS, the
// server's clock injected (certificates are issued so that a real handshake accepts them).
import assert from 'node:assert/strict';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DAY_MS, ManualClock } from '@palisade/common';
import { PROTOCOL_VERSION, RenewRequestSchema, create, toBinary } from '@palisade/protocol';
import {
  type AgentIdentity,
  RegistrationRefused,
  SimulatedAgent,
  httpsRequest,
  makeProcessEvent,
  renewAgent,
  waitFor,
} from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';
import { createCa, importCaKey, issueClientCertificate } from '../tls/pki.js';

const sha = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

async function refused(p: Promise<unknown>): Promise<RegistrationRefused> {
  const err = await p.then(
    () => assert.fail('should have been refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RegistrationRefused, String(err));
  return err;
}

/** postRenew sends raw bytes to /v1/renew with `id`'s certificate (or none). */
function postRenew(
  t: TestServer,
  id: AgentIdentity | null,
  body: Uint8Array | string,
  type = 'application/x-protobuf',
) {
  return httpsRequest(`${t.server.registrationUrl}/v1/renew`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
    ca: t.server.caPem,
    ...(id ? { cert: id.certPem, key: id.keyPem } : {}),
  });
}

// Registration keys live a year: every registration here happens before day 365.
describe('certificate renewal (POST /v1/renew)', () => {
  // The server's clock starts a day before real time, so every certificate it issues as the clock
  // moves forward is already valid by the wall clock TLS checks.
  const day0 = Date.now() - DAY_MS;
  const clock = new ManualClock(day0);
  const at = (day: number) => clock.set(day0 + day * DAY_MS);
  let t: TestServer;
  const register = () =>
    SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });

  before(async () => {
    t = await startTestServer({ clock, sessionRecheckMs: 200 });
  });
  after(() => t.stop());

  test('a new key is certified; both certificates work until the new one is used, which retires the old one', async () => {
    at(0);
    const a = await register();
    await a.connect();
    assert.equal((await a.sendBatch([makeProcessEvent(1)])).duplicate, false);
    const before = (await t.server.storage.getAgent(a.agentId))!;
    assert.equal(before.certNotAfter, Date.parse(new X509Certificate(a.identity.certPem).validTo));

    at(250);
    const renewed = await renewAgent(a.identity);
    assert.notEqual(renewed.keyPem, a.identity.keyPem);
    const cert = new X509Certificate(renewed.certPem);
    assert.equal(Date.parse(cert.validTo), Math.floor((day0 + 250 * DAY_MS + 365 * DAY_MS) / 1000) * 1000);
    assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(renewed.keyPem)));
    const pending = (await t.server.storage.getAgent(a.agentId))!;
    assert.equal(pending.certFingerprint, before.certFingerprint, 'the old one is still current');
    assert.equal(pending.pendingCert?.fingerprint, sha(renewed.certPem));

    // The old certificate keeps working while the new one is unused (an agent that crashed after
    // the renewal answer is not locked out).
    assert.equal((await a.checkIn()).agentId, a.agentId);
    assert.equal(
      (await t.server.storage.getAgent(a.agentId))!.pendingCert?.fingerprint,
      sha(renewed.certPem),
    );

    // The first use of the new certificate makes it current and retires the old one.
    const b = new SimulatedAgent(renewed);
    assert.equal((await b.checkIn()).agentId, a.agentId);
    const after = (await t.server.storage.getAgent(a.agentId))!;
    assert.equal(after.certFingerprint, sha(renewed.certPem));
    assert.equal(after.pendingCert, null);
    assert.equal(after.certNotAfter, Date.parse(cert.validTo));
    assert.notEqual(after.publicKeyFingerprint, before.publicKeyFingerprint);
    const old = await refused(a.checkIn());
    assert.equal(old.status, 401);
    assert.match(old.message, /not the certificate issued to this agent/);
    // The telemetry session opened with the old certificate is closed within moments (4001) ...
    assert.equal(await a.closed(5000), 4001);
    await assert.rejects(a.connect(), /upgrade refused: 401 .*not the certificate issued/);
    // ... and the new one streams.
    await b.connect();
    assert.equal((await b.sendBatch([makeProcessEvent(2)], 2n)).duplicate, false);
    await b.close();
  });

  test('renewal with the pending certificate itself promotes it first, then certifies the next key', async () => {
    at(300);
    const a = await register();
    const r1 = await renewAgent(a.identity);
    at(301);
    const r2 = await renewAgent(r1);
    const rec = (await t.server.storage.getAgent(a.agentId))!;
    assert.equal(rec.certFingerprint, sha(r1.certPem));
    assert.equal(rec.pendingCert?.fingerprint, sha(r2.certPem));
    await refused(a.checkIn());
  });

  test('bad requests are refused with a clear error and change nothing', async () => {
    at(310);
    const a = await register();
    const state = async () => t.server.storage.getAgent(a.agentId);
    const before = await state();
    const expectRefusal = async (
      what: string,
      p: Promise<{ status: number; body: Buffer }> | Promise<unknown>,
      status: number,
      code: string,
      message: RegExp,
    ) => {
      const r = await p.then(
        (v) => v as { status: number; body: Buffer },
        (e: unknown) => {
          if (e instanceof RegistrationRefused)
            return {
              status: e.status,
              body: Buffer.from(JSON.stringify({ error: { code: e.code, message: e.message } })),
            };
          throw e;
        },
      );
      assert.equal(r.status, status, `${what}: ${r.body}`);
      const j = JSON.parse(r.body.toString()) as { error: { code: string; message: string } };
      assert.equal(j.error.code, code, what);
      assert.match(j.error.message, message, what);
      assert.deepEqual(await state(), before, `${what} changed nothing`);
    };

    await expectRefusal(
      'malformed body',
      postRenew(t, a.identity, Buffer.from([0xff, 0xff, 0xff])),
      400,
      'bad_request',
      /not a valid RenewRequest message/,
    );
    await expectRefusal(
      'JSON body',
      postRenew(t, a.identity, '{}', 'application/json'),
      415,
      'unsupported_media_type',
      /application\/x-protobuf/,
    );
    await expectRefusal(
      'old protocol',
      renewAgent(a.identity, { protocolVersion: PROTOCOL_VERSION + 7 }),
      400,
      'unsupported_protocol_version',
      /protocol version/,
    );
    await expectRefusal(
      'empty key',
      postRenew(
        t,
        a.identity,
        toBinary(RenewRequestSchema, create(RenewRequestSchema, { protocolVersion: PROTOCOL_VERSION })),
      ),
      400,
      'validation_failed',
      /public_key_spki is missing/,
    );
    await expectRefusal(
      'the current key again',
      renewAgent(a.identity, { reuseKeyPem: a.identity.keyPem }),
      400,
      'validation_failed',
      /needs a new key pair/,
    );
    await expectRefusal(
      'a proof that is not a signature',
      renewAgent(a.identity, { proofOverride: new Uint8Array(64) }),
      400,
      'validation_failed',
      /proof_of_possession does not verify/,
    );
    // A proof made for another agent (or another certificate) does not verify for this one.
    const other = await register();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const { sign, createPublicKey } = await import('node:crypto');
    const { renewProofText } = await import('@palisade/testkit');
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const forOther = sign(
      'sha256',
      Buffer.from(renewProofText(other.agentId, other.identity.certPem, spki)),
      privateKey,
    );
    await expectRefusal(
      'a proof for another agent',
      renewAgent(a.identity, { reuseKeyPem: keyPem, proofOverride: forOther }),
      400,
      'validation_failed',
      /proof_of_possession does not verify/,
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    await expectRefusal(
      'an RSA key',
      renewAgent(a.identity, { reuseKeyPem: rsa }),
      400,
      'validation_failed',
      /public key type rsa is not supported/,
    );
    await expectRefusal(
      'no client certificate',
      postRenew(t, null, new Uint8Array()),
      401,
      'invalid_credentials',
      /no client certificate presented/,
    );

    // A certificate for this agent's id from another CA.
    const foreignCa = await createCa(clock.now(), 'Not Palisade');
    const ca = { certPem: foreignCa.certPem, key: await importCaKey(foreignCa.keyPem) };
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await issueClientCertificate(
      ca,
      a.agentId,
      k.publicKey.export({ type: 'spki', format: 'der' }),
      clock.now(),
    );
    await expectRefusal(
      'a foreign certificate',
      renewAgent({
        ...a.identity,
        certPem: forged.certPem,
        keyPem: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      }),
      401,
      'invalid_credentials',
      /not issued by this server/,
    );
    // A certificate for this agent's id from this very CA that the server never issued to it.
    const ours = t.server.tls.material.signer!;
    const k2 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const stray = await issueClientCertificate(
      ours,
      a.agentId,
      k2.publicKey.export({ type: 'spki', format: 'der' }),
      clock.now(),
    );
    await expectRefusal(
      'a certificate never issued to the agent',
      renewAgent({
        ...a.identity,
        certPem: stray.certPem,
        keyPem: k2.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      }),
      401,
      'invalid_credentials',
      /not the certificate issued to this agent/,
    );

    // Rate: a second renewal for another new key within a minute is refused; the first stands.
    const r1 = await renewAgent(a.identity);
    const pendingBefore = (await state())!.pendingCert;
    assert.equal(pendingBefore?.fingerprint, sha(r1.certPem));
    const again = await refused(renewAgent(a.identity));
    assert.equal(again.status, 429);
    assert.equal(again.code, 'rate_limited');
    assert.deepEqual((await state())!.pendingCert, pendingBefore);
    // Retrying with the same new key (its answer was lost) is fine.
    const same = await renewAgent(a.identity, { reuseKeyPem: r1.keyPem });
    assert.equal((await state())!.pendingCert?.publicKeyFingerprint, pendingBefore?.publicKeyFingerprint);
    assert.notEqual(sha(same.certPem), '');
  });

  test('an expired, revoked or decommissioned credential cannot renew', async () => {
    at(320);
    const expired = await register();
    const revoked = await register();
    const gone = await register();
    at(320 + 366);
    const e = await refused(renewAgent(expired.identity));
    assert.equal(e.status, 401);
    assert.match(e.message, /certificate expired on/);
    assert.equal((await t.server.storage.getAgent(expired.agentId))!.pendingCert, null);

    at(321);
    assert.equal(
      (await t.api('POST', `/api/v1/agents/${revoked.agentId}/revoke`, { body: { reason: 'test' } })).status,
      200,
    );
    const r = await refused(renewAgent(revoked.identity));
    assert.equal(r.status, 401);
    assert.match(r.message, /agent credential revoked \(test\)/);
    assert.equal((await t.server.storage.getAgent(revoked.agentId))!.pendingCert, null);

    assert.equal((await t.api('POST', `/api/v1/agents/${gone.agentId}/decommission`)).status, 200);
    const d = await refused(renewAgent(gone.identity));
    assert.match(d.message, /agent decommissioned/);
    assert.equal((await t.server.storage.getAgent(gone.agentId))!.pendingCert, null);
  });

  test('the retired certificate and the new one are told apart on telemetry too (waitFor the sweep)', async () => {
    at(330);
    const a = await register();
    const renewed = await renewAgent(a.identity);
    // Before the new one is used, the old one may open a session.
    await a.connect();
    const b = new SimulatedAgent(renewed);
    await b.connect(); // this promotes, and replaces a's session
    await waitFor('the old session closed', () => a.closeCode !== null, 5000);
    await assert.rejects(a.connect(), /401/);
    await b.close();
  });
});
