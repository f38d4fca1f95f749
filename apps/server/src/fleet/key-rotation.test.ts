import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DAY_MS, ManualClock, silentLogger } from '@palisade/common';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { DEFAULT_POLICY } from './default-group.js';
import { createRegistrationKey } from './registration-keys.js';
import { sha256Hex } from '../secrets.js';
import { KeyRotation } from './key-rotation.js';

test('rotation: a key whose secret cannot be kept is revoked and made again on the next run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-rotation-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const storage = await openSqliteStorage({ path: join(dir, 'db'), clock, writerThread: false });
  t.after(() => storage.close());
  await storage.createGroup({ id: 'g1', name: 'lab', createdAt: clock.now(), policy: DEFAULT_POLICY });
  const first = await createRegistrationKey(storage, 'g1', clock.now());
  const rotation = new KeyRotation({ storage, clock, logger: silentLogger, dataDir: dir });

  clock.advance(340 * DAY_MS);
  // A file where the secrets directory should be: the secret cannot be written.
  writeFileSync(join(dir, 'pending-keys'), 'in the way');
  await assert.rejects(rotation.runNow());
  const [, lost] = await storage.listKeys('g1');
  assert.ok(lost && lost.revokedAt !== null, 'the unusable key is revoked');

  rmSync(join(dir, 'pending-keys'));
  const made = await rotation.runNow();
  assert.equal(made.length, 1);
  assert.equal(made[0]!.rotatedFrom, first.id);
  assert.equal(statSync(join(dir, 'pending-keys')).mode & 0o777, 0o700);
  assert.equal(rotation.claimable(made[0]!.keyId), true);
  const secret = rotation.claim(made[0]!.keyId);
  assert.ok(secret);
  assert.equal((await storage.findKeyBySecretHash(sha256Hex(secret)))?.id, made[0]!.keyId);
  assert.equal(rotation.claim(made[0]!.keyId), undefined, 'claimed once only');
  assert.deepEqual(await rotation.runNow(), [], 'the new key is a year away from expiry');
  // Not the default group: the quickstart key file is left alone.
  assert.throws(() => readFileSync(join(dir, 'registration-key')));
});
