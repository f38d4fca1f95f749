import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventSchema, create } from '@palisade/protocol';
import { tempDir } from '@palisade/testkit';
import { IdentityError } from '../identity/identity-store.js';
import { SPOOL_KEY_FILE, loadOrCreateSpoolKey } from '../identity/spool-key.js';
import { ENCRYPTED_RECORD_MAGIC, RECORD_MAGIC } from './record.js';
import { SpoolCipher, SpoolCipherError } from './spool-cipher.js';
import { cmdLines, drain } from './spool-fixtures.test-util.js';
import { DAMAGED_STATE_FILE, STATE_FILE } from './spool-state.js';
import { Spool } from './spool.js';

/** A command line carrying a secret: random hex, so LZ4 keeps it as a literal in a plain spool. */
const secretEvent = (secret: string, n: number) =>
  create(EventSchema, {
    classUid: 1007,
    activityId: 1,
    timeMs: BigInt(1_700_000_000_000 + n),
    process: { pid: 1000 + n, cmdLine: `mysql --password=${secret}-${n}` },
  });

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('seg-'))
    .sort()
    .map((n) => join(dir, n));
}

/** onDisk is everything the spool directory holds, concatenated. */
function onDisk(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).map((n) => readFileSync(join(dir, n))));
}

function fill(spool: Spool, secret: string, batches: number, perBatch: number): string[] {
  const lines: string[] = [];
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < perBatch; i++) {
      const n = b * perBatch + i;
      spool.append(secretEvent(secret, n));
      lines.push(`mysql --password=${secret}-${n}`);
    }
    spool.seal();
  }
  return lines;
}

test('segments and state are encrypted at rest; what was spooled reads back the same after a restart', (t) => {
  const dir = tempDir('palisade-spool-enc-');
  const cipher = new SpoolCipher(randomBytes(32));
  const secret = randomBytes(12).toString('hex');
  const spool = Spool.open({ dir, cipher });
  const lines = fill(spool, secret, 3, 5);
  spool.ack(1);
  spool.close();
  const disk = onDisk(dir);
  assert.equal(disk.includes(secret), false, 'the secret is on disk in clear');
  for (const f of segmentFiles(dir)) {
    const b = readFileSync(f);
    if (b.byteLength) assert.equal(b.readUInt32LE(0), ENCRYPTED_RECORD_MAGIC, f);
  }
  assert.equal(readFileSync(join(dir, STATE_FILE)).subarray(0, 4).toString('latin1'), 'PSST');
  const again = Spool.open({ dir, cipher });
  t.after(() => again.close());
  const batches = drain(again);
  assert.deepEqual(
    batches.map((b) => b.seq),
    [2, 3],
  );
  assert.deepEqual(cmdLines(batches), lines.slice(5));
  assert.equal(again.stats().ackedSeq, 1);
  // The same spool without encryption would have shown it: the check above can fail.
  const plainDir = tempDir('palisade-spool-plain-');
  const plain = Spool.open({ dir: plainDir });
  fill(plain, secret, 1, 5);
  plain.close();
  assert.equal(onDisk(plainDir).includes(secret), true);
});

test('a flipped byte in one record loses that batch only, counted as corrupt, as a damaged plain record is', (t) => {
  const dir = tempDir('palisade-spool-enc-');
  const cipher = new SpoolCipher(randomBytes(32));
  const spool = Spool.open({ dir, cipher, batchMaxEvents: 5 });
  const lines = fill(spool, 'x', 3, 5);
  const second = spool.nextAfter(1)!;
  const { recordOffset, recordLength } = second;
  spool.close();
  const [seg] = segmentFiles(dir);
  const bytes = readFileSync(seg!);
  bytes[recordOffset + Math.floor(recordLength / 2)]! ^= 0x01;
  writeFileSync(seg!, bytes);
  const again = Spool.open({ dir, cipher });
  t.after(() => again.close());
  const batches = drain(again);
  assert.deepEqual(
    batches.map((b) => b.seq),
    [1, 3],
  );
  assert.deepEqual(cmdLines(batches), [...lines.slice(0, 5), ...lines.slice(10)]);
  assert.equal(again.stats().corruptRecords, 1);
  assert.equal(again.stats().lastSeq, 3);
});

test('damage after the scan is caught when the batch is read: skipped and counted, never sent', (t) => {
  const dir = tempDir('palisade-spool-enc-');
  const cipher = new SpoolCipher(randomBytes(32));
  const spool = Spool.open({ dir, cipher });
  t.after(() => spool.close());
  fill(spool, 'y', 2, 3);
  const first = spool.nextAfter(0)!;
  const [seg] = segmentFiles(dir);
  const bytes = readFileSync(seg!);
  bytes[first.recordOffset + first.recordLength - 1]! ^= 0x80;
  writeFileSync(seg!, bytes);
  assert.equal(spool.readFrame(first), undefined);
  assert.equal(spool.stats().corruptRecords, 1);
  assert.deepEqual(
    drain(spool).map((b) => b.seq),
    [2],
  );
});

test('a tampered state file is handled as a damaged one: set aside, rebuilt, every batch sent again', (t) => {
  const dir = tempDir('palisade-spool-enc-');
  const cipher = new SpoolCipher(randomBytes(32));
  const spool = Spool.open({ dir, cipher });
  fill(spool, 'z', 3, 2);
  spool.ack(1);
  spool.ack(2);
  spool.close();
  const state = readFileSync(join(dir, STATE_FILE));
  state[state.byteLength - 3]! ^= 0x10;
  writeFileSync(join(dir, STATE_FILE), state);
  const again = Spool.open({ dir, cipher });
  t.after(() => again.close());
  assert.ok(readdirSync(dir).includes(DAMAGED_STATE_FILE));
  assert.deepEqual(
    drain(again).map((b) => b.seq),
    [1, 2, 3],
  );
  assert.ok(again.stats().lastSeq > 3, 'numbering continues above every earlier batch');
});

test('another key reads nothing: every record is corrupt and nothing is decrypted', (t) => {
  const dir = tempDir('palisade-spool-enc-');
  const spool = Spool.open({ dir, cipher: new SpoolCipher(randomBytes(32)) });
  fill(spool, 'k', 2, 2);
  spool.close();
  const other = Spool.open({ dir, cipher: new SpoolCipher(randomBytes(32)) });
  t.after(() => other.close());
  assert.deepEqual(drain(other), []);
  // Damage runs into each other: the unreadable records count as one corrupt region per segment.
  assert.ok(other.stats().corruptRecords >= 1);
  assert.ok(readdirSync(dir).includes(DAMAGED_STATE_FILE), 'the state did not authenticate either');
});

test('upgrade: a plain spool is rewritten encrypted at open, losing nothing and keeping its acks (read old, write new)', (t) => {
  const dir = tempDir('palisade-spool-migrate-');
  const secret = randomBytes(12).toString('hex');
  const old = Spool.open({ dir, batchMaxEvents: 4, segmentBytes: 600 });
  const lines = fill(old, secret, 6, 4);
  old.ack(1);
  old.ack(2);
  const before = drain(old);
  old.close();
  const plainSegments = segmentFiles(dir).filter((f) => statSync(f).size > 0);
  assert.ok(plainSegments.length >= 2, 'several segments to migrate');
  for (const f of plainSegments) assert.equal(readFileSync(f).readUInt32LE(0), RECORD_MAGIC);
  assert.equal(onDisk(dir).includes(secret), true);
  const cipher = new SpoolCipher(randomBytes(32));
  const upgraded = Spool.open({ dir, cipher });
  const after1 = drain(upgraded);
  assert.deepEqual(after1, before);
  assert.deepEqual(cmdLines(after1), lines.slice(8));
  assert.equal(upgraded.stats().ackedSeq, 2);
  assert.equal(upgraded.stats().corruptRecords, 0);
  upgraded.close();
  assert.equal(onDisk(dir).includes(secret), false, 'plain bytes left behind');
  assert.equal(
    readdirSync(dir).some((n) => n.endsWith('.tmp')),
    false,
  );
  // And it opens again as an encrypted spool.
  const reopened = Spool.open({ dir, cipher });
  t.after(() => reopened.close());
  assert.deepEqual(drain(reopened), before);
});

test('the cipher refuses a wrong-size key and names what failed', () => {
  assert.throws(() => new SpoolCipher(Buffer.alloc(16)), /spool key must be 32 bytes, got 16/);
  const c = new SpoolCipher(randomBytes(32));
  const sealed = c.seal(Buffer.from('hello'), Buffer.from('aad'));
  assert.equal(c.open(sealed, Buffer.from('aad')).toString(), 'hello');
  assert.throws(() => c.open(sealed, Buffer.from('other')), SpoolCipherError);
  assert.throws(() => c.open(sealed.subarray(0, 10), Buffer.from('aad')), /shorter than its header/);
});

test('the spool key is created once, 0600, in the state directory, and a readable or malformed one is refused', () => {
  const dir = tempDir('palisade-spool-key-');
  const k1 = loadOrCreateSpoolKey(dir);
  assert.equal(k1.byteLength, 32);
  const path = join(dir, SPOOL_KEY_FILE);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreateSpoolKey(dir), k1);
  chmodSync(path, 0o644);
  assert.throws(
    () => loadOrCreateSpoolKey(dir),
    (e: Error) => e instanceof IdentityError && /mode 0600/.test(e.message),
  );
  chmodSync(path, 0o600);
  writeFileSync(path, 'not hex\n');
  assert.throws(() => loadOrCreateSpoolKey(dir), /is not a spool key \(64 hex digits\)/);
});
