// The crash windows of a certificate renewal (ADR 0015): whatever moment the agent stops at, the
// next start authenticates, ends on one certificate the server accepts, and never needs a
// registration key. Each case builds the on-disk state a crash at that moment leaves (with a real
// renewal against the real server), then starts the agent. Real TLS, real server, injected clock.
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DAY_MS, ManualClock } from '@palisade/common';
import { type RunningServer, startServer } from '@palisade/server';
import { tempDir, waitFor } from '@palisade/testkit';
import { type RunningAgent, startAgent } from '../agent.js';
import { readKey } from '../agent-harness.test-util.js';
import { loadIdentity, saveCandidate, saveNextKey } from './identity-store.js';
import { generateAgentKey } from './keys.js';
import { requestRenewal } from './renew.js';

const sha = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

describe('renewal crash windows', () => {
  const day0 = Date.now() - DAY_MS;
  const clock = new ManualClock(day0);
  let srv: RunningServer;
  const running: RunningAgent[] = [];
  before(async () => {
    srv = await startServer({
      dataDir: tempDir('palisade-renew-crash-srv-'),
      registrationPort: 0,
      telemetryPort: 0,
      logLevel: 'silent',
      clock,
    });
  });
  after(async () => {
    for (const a of running) await a.stop();
    await srv.close();
  });

  const start = async (stateDir: string) => {
    const a = await startAgent({
      stateDir,
      serverUrl: srv.registrationUrl,
      registrationKey: readKey(srv.dataDir),
      caPem: srv.caPem,
      sensors: [],
      clock,
      checkInIntervalMs: 200,
    });
    running.push(a);
    return a;
  };
  /** enrolled registers an agent at day 0 and stops it; the clock is then at day 250 (renewal due). */
  const enrolled = async () => {
    clock.set(day0);
    const stateDir = tempDir('palisade-renew-crash-');
    const a = await start(stateDir);
    await a.stop();
    clock.set(day0 + 250 * DAY_MS);
    const id = loadIdentity(stateDir);
    return { stateDir, id, oldFp: sha(id.certPem) };
  };
  /** renewedOnDisk performs a real renewal and leaves its result where the agent saves it (state S2). */
  const renewedOnDisk = async (stateDir: string) => {
    const id = loadIdentity(stateDir);
    const keyPem = generateAgentKey();
    saveNextKey(stateDir, keyPem);
    const res = await requestRenewal(
      id.registrationUrl,
      { ca: id.caPem, cert: id.certPem, key: id.keyPem },
      id.agentId,
      keyPem,
    );
    saveCandidate(stateDir, id, { keyPem, certPem: res.certificatePem, receivedAt: clock.now() });
    return { keyPem, fp: sha(res.certificatePem) };
  };
  /** settled waits until the agent streams on one certificate that disk and server agree on. */
  const settled = async (a: RunningAgent, stateDir: string) =>
    waitFor(
      'one certificate, on disk and on the server, in use',
      async () => {
        const r = await srv.storage.getAgent(a.agentId);
        const onDisk = sha(readFileSync(join(stateDir, 'agent.crt'), 'utf8'));
        const ok =
          a.channel() === 'primary' &&
          r?.certFingerprint === onDisk &&
          r.pendingCert === null &&
          srv.sessions.get(a.agentId)?.certFingerprint === onDisk &&
          !existsSync(join(stateDir, 'agent.next.key')) &&
          !existsSync(join(stateDir, 'agent.next.crt'));
        return ok ? onDisk : undefined;
      },
      20_000,
    );

  test('stopped after the new key was saved, before the answer came: the next attempt reuses that key', async () => {
    const { stateDir, oldFp } = await enrolled();
    const keyPem = generateAgentKey();
    saveNextKey(stateDir, keyPem);
    const a = await start(stateDir);
    const fp = await settled(a, stateDir);
    assert.notEqual(fp, oldFp);
    assert.equal(readFileSync(join(stateDir, 'agent.key'), 'utf8'), keyPem);
    await a.stop();
  });

  test('stopped after the new certificate was saved, before it was used: the agent tries it first and commits it', async () => {
    const { stateDir, oldFp } = await enrolled();
    const renewed = await renewedOnDisk(stateDir);
    assert.equal(
      (await srv.storage.getAgent(loadIdentity(stateDir).agentId))!.certFingerprint,
      oldFp,
      'not used yet',
    );
    const a = await start(stateDir);
    assert.equal(await settled(a, stateDir), renewed.fp);
    assert.equal(readFileSync(join(stateDir, 'agent.key'), 'utf8'), renewed.keyPem);
    await a.stop();
  });

  test('stopped between the two renames of the commit: the next start finishes it', async () => {
    const { stateDir } = await enrolled();
    const renewed = await renewedOnDisk(stateDir);
    renameSync(join(stateDir, 'agent.next.key'), join(stateDir, 'agent.key'));
    // The new key now sits beside the old certificate, the new certificate still in agent.next.crt.
    const a = await start(stateDir);
    assert.equal(await settled(a, stateDir), renewed.fp);
    await a.stop();
  });

  test('the server refuses the renewed certificate (a newer renewal replaced it): back to the old one, renewed again', async () => {
    const { stateDir, oldFp } = await enrolled();
    const renewed = await renewedOnDisk(stateDir);
    const id = loadIdentity(stateDir);
    const pending = (await srv.storage.getAgent(id.agentId))!.pendingCert!;
    // As if the server's pending certificate were another one (a database restored from a backup, a lost renewal).
    await srv.storage.setPendingCertificate(id.agentId, {
      ...pending,
      fingerprint: 'f'.repeat(64),
      issuedAt: 0,
    });
    const a = await start(stateDir);
    const fp = await settled(a, stateDir);
    assert.notEqual(fp, renewed.fp);
    assert.notEqual(fp, oldFp);
    await a.stop();
  });

  test('a damaged renewed certificate file is set aside; the agent keeps working and renews again', async () => {
    const { stateDir, oldFp } = await enrolled();
    await renewedOnDisk(stateDir);
    writeFileSync(
      join(stateDir, 'agent.next.crt'),
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    );
    const notes = loadIdentity(stateDir).notes ?? [];
    assert.match(notes.join('\n'), /set aside the renewed certificate .*agent\.next\.crt/);
    const a = await start(stateDir);
    const fp = await settled(a, stateDir);
    assert.notEqual(fp, oldFp);
    await a.stop();
  });
});
