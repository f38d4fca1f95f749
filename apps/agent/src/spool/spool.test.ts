import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '@palisade/common';
import { Spool } from './spool.js';
import { tempDir } from '@palisade/testkit';
import { cmdLines, drain, makeEvent } from './spool-fixtures.test-util.js';

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('seg-'))
    .sort();
}

test('appended events are sealed into numbered batches, read back intact, and leave when acked', (t) => {
  const dir = tempDir('palisade-spool-');
  const spool = Spool.open({ dir, batchMaxEvents: 4 });
  t.after(() => spool.close());
  const sealed: number[] = [];
  spool.onSealed((seq) => sealed.push(seq));
  for (let i = 0; i < 10; i++) spool.append(makeEvent(i));
  spool.seal();
  assert.deepEqual(sealed, [1, 2, 3]);
  const batches = drain(spool);
  assert.deepEqual(
    batches.map((b) => [b.seq, b.events.length]),
    [
      [1, 4],
      [2, 4],
      [3, 2],
    ],
  );
  assert.deepEqual(
    cmdLines(batches),
    Array.from({ length: 10 }, (_, i) => `/bin/echo event-${i}`),
  );
  assert.equal(spool.stats().unackedEvents, 10);
  assert.equal(spool.ack(2), true);
  assert.equal(spool.ack(1), true);
  assert.deepEqual(
    drain(spool).map((b) => b.seq),
    [3],
  );
  assert.equal(spool.stats().unackedEvents, 2);
  assert.equal(spool.stats().ackedSeq, 2);
});

test('acks out of order remove exactly the batch acked; the watermark follows the oldest unacked', (t) => {
  const dir = tempDir('palisade-spool-');
  let spool = Spool.open({ dir, batchMaxEvents: 1 });
  for (let i = 0; i < 4; i++) spool.append(makeEvent(i));
  spool.ack(3);
  assert.deepEqual(
    drain(spool).map((b) => b.seq),
    [1, 2, 4],
  );
  assert.equal(spool.stats().ackedSeq, 0);
  spool.ack(1);
  assert.equal(spool.stats().ackedSeq, 1);
  spool.ack(3);
  spool.close();
  // After a restart the out-of-order ack of 3 is forgotten: 3 is sent again (the server dedupes).
  spool = Spool.open({ dir, batchMaxEvents: 1 });
  t.after(() => spool.close());
  assert.deepEqual(
    drain(spool).map((b) => b.seq),
    [2, 3, 4],
  );
});

test('a batch is sealed by the timer when fewer than batchMaxEvents arrive', async (t) => {
  const spool = Spool.open({ dir: tempDir('palisade-spool-'), batchIntervalMs: 20 });
  t.after(() => spool.close());
  const sealed = new Promise<number>((resolve) => spool.onSealed(resolve));
  spool.append(makeEvent(1));
  assert.equal(spool.stats().pendingEvents, 1);
  assert.equal(await sealed, 1);
  assert.equal(spool.stats().pendingEvents, 0);
});

test('an ack for a batch never sealed is refused and removes nothing', (t) => {
  const spool = Spool.open({ dir: tempDir('palisade-spool-') });
  t.after(() => spool.close());
  spool.append(makeEvent(1));
  spool.seal();
  assert.equal(spool.ack(5), false);
  assert.equal(spool.stats().unackedBatches, 1);
  assert.equal(spool.stats().ackedSeq, 0);
});

test('after a restart the unacked batches come back with the same sequence numbers, new ones continue', (t) => {
  const dir = tempDir('palisade-spool-');
  let spool = Spool.open({ dir, batchMaxEvents: 5 });
  for (let i = 0; i < 15; i++) spool.append(makeEvent(i));
  spool.ack(1);
  spool.close();
  spool = Spool.open({ dir, batchMaxEvents: 5 });
  t.after(() => spool.close());
  const batches = drain(spool);
  assert.deepEqual(
    batches.map((b) => b.seq),
    [2, 3],
  );
  assert.equal(cmdLines(batches)[0], '/bin/echo event-5');
  spool.append(makeEvent(99));
  spool.seal();
  assert.equal(spool.stats().lastSeq, 4);
});

test('sequence numbers are never reused after every segment was acked and deleted', (t) => {
  const dir = tempDir('palisade-spool-');
  let spool = Spool.open({ dir, batchMaxEvents: 1 });
  for (let i = 0; i < 3; i++) spool.append(makeEvent(i));
  for (const seq of [1, 2, 3]) spool.ack(seq);
  spool.close();
  spool = Spool.open({ dir, batchMaxEvents: 1 });
  t.after(() => spool.close());
  // The previous run's segment is fully acked, so reopening deletes it.
  assert.equal(segments(dir).length, 1);
  spool.append(makeEvent(3));
  assert.equal(spool.nextAfter(0)?.meta.seq, 4);
});

test('fully acked segments are deleted from disk', (t) => {
  const dir = tempDir('palisade-spool-');
  const spool = Spool.open({ dir, batchMaxEvents: 10, segmentBytes: 1000 });
  t.after(() => spool.close());
  for (let i = 0; i < 200; i++) spool.append(makeEvent(i));
  const before = segments(dir).length;
  assert.ok(before > 3, `expected several segments, got ${before}`);
  for (let seq = 1; seq <= spool.stats().lastSeq; seq++) spool.ack(seq);
  assert.equal(segments(dir).length, 1);
  assert.equal(spool.stats().unackedEvents, 0);
});

test('a torn last record (power loss mid-append) is skipped without losing the records before it', (t) => {
  const dir = tempDir('palisade-spool-');
  let spool = Spool.open({ dir, batchMaxEvents: 3 });
  for (let i = 0; i < 9; i++) spool.append(makeEvent(i));
  spool.close();
  const [seg] = segments(dir);
  const path = join(dir, seg!);
  truncateSync(path, statSync(path).size - 7);
  spool = Spool.open({ dir, batchMaxEvents: 3 });
  t.after(() => spool.close());
  const batches = drain(spool);
  assert.deepEqual(
    batches.map((b) => b.seq),
    [1, 2],
  );
  assert.equal(cmdLines(batches).length, 6);
  const s = spool.stats();
  assert.equal(s.tornTails, 1);
  assert.equal(s.corruptRecords, 0);
});

test('a corrupt record in the middle of a segment is reported once and the records around it delivered', (t) => {
  const dir = tempDir('palisade-spool-');
  let spool = Spool.open({ dir, batchMaxEvents: 3 });
  for (let i = 0; i < 9; i++) spool.append(makeEvent(i));
  spool.close();
  const path = join(dir, segments(dir)[0]!);
  const buf = readFileSync(path);
  // Flip bytes in the middle of the file: that is inside the second of three similar records.
  const mid = Math.floor(buf.byteLength / 2);
  buf[mid] = buf[mid]! ^ 0xff;
  buf[mid + 1] = buf[mid + 1]! ^ 0xff;
  writeFileSync(path, buf);
  spool = Spool.open({ dir, batchMaxEvents: 3 });
  const batches = drain(spool);
  assert.deepEqual(
    batches.map((b) => b.seq),
    [1, 3],
  );
  assert.equal(spool.stats().corruptRecords, 1);
  spool.close();
  // Reopening does not count the same damage twice; the next sequence is above the damaged one.
  spool = Spool.open({ dir, batchMaxEvents: 3 });
  t.after(() => spool.close());
  assert.equal(spool.stats().corruptRecords, 1);
  spool.ack(1);
  spool.ack(3);
  assert.equal(segments(dir).length, 1);
  assert.equal(spool.stats().corruptRecords, 1, 'the count survives the deletion of the segment');
  spool.append(makeEvent(100));
  spool.seal();
  assert.equal(spool.stats().lastSeq, 4);
});

test('garbage appended to a segment (tampering) is detected and the intact records kept', (t) => {
  const dir = tempDir('palisade-spool-');
  let spool = Spool.open({ dir, batchMaxEvents: 2 });
  for (let i = 0; i < 4; i++) spool.append(makeEvent(i));
  spool.close();
  const path = join(dir, segments(dir)[0]!);
  const buf = readFileSync(path);
  writeFileSync(path, Buffer.concat([buf.subarray(0, 20), Buffer.from('not a spool record at all'), buf]));
  spool = Spool.open({ dir, batchMaxEvents: 2 });
  t.after(() => spool.close());
  assert.deepEqual(
    drain(spool).map((b) => b.seq),
    [1, 2],
  );
  assert.equal(spool.stats().corruptRecords, 1);
});

test('a tampered state file is a clear error naming the file', (t) => {
  const dir = tempDir('palisade-spool-');
  Spool.open({ dir }).close();
  writeFileSync(join(dir, 'spool-state.json'), '{"ackedSeq": -4}');
  assert.throws(() => Spool.open({ dir }), /spool-state\.json has missing or invalid fields/);
  writeFileSync(join(dir, 'spool-state.json'), '{not json');
  assert.throws(() => Spool.open({ dir }), /spool-state\.json is not valid JSON/);
});

test('the size cap drops the oldest segments and reports exactly what was lost', (t) => {
  const dir = tempDir('palisade-spool-');
  const spool = Spool.open({ dir, batchMaxEvents: 10, segmentBytes: 1000, maxBytes: 3000 });
  t.after(() => spool.close());
  const total = 400;
  for (let i = 0; i < total; i++) spool.append(makeEvent(i, i % 4 === 0 ? 3002 : 1007));
  spool.seal();
  const s = spool.stats();
  assert.ok(s.bytes <= 3000, `spool holds ${s.bytes} bytes, cap is 3000`);
  assert.ok(s.drops.events > 0, 'something was dropped');
  const kept = drain(spool).flatMap((b) => b.events);
  // Nothing lost silently: kept + dropped = appended, and the kept ones are the newest.
  assert.equal(kept.length + s.drops.events, total);
  assert.equal(kept[0]?.process?.cmdLine, `/bin/echo event-${s.drops.events}`);
  const droppedAuth = Array.from({ length: s.drops.events }, (_, i) => i).filter((i) => i % 4 === 0).length;
  assert.deepEqual(s.drops.byClass, { 1007: s.drops.events - droppedAuth, 3002: droppedAuth });
  assert.equal(s.drops.firstTimeMs, 1_700_000_000_000);
  assert.equal(s.drops.lastTimeMs, 1_700_000_000_000 + s.drops.events - 1);
  assert.equal(s.drops.batches, s.drops.events / 10);
});

test('the drop report survives a restart', (t) => {
  const dir = tempDir('palisade-spool-');
  let spool = Spool.open({ dir, batchMaxEvents: 10, segmentBytes: 1000, maxBytes: 2000 });
  for (let i = 0; i < 300; i++) spool.append(makeEvent(i));
  const before = spool.stats().drops;
  spool.close();
  assert.ok(before.events > 0);
  spool = Spool.open({ dir, batchMaxEvents: 10, segmentBytes: 1000, maxBytes: 2000 });
  t.after(() => spool.close());
  assert.deepEqual(spool.stats().drops, before);
});

test('the age cap drops segments sealed longer ago than maxAgeMs, acked ones are not counted', (t) => {
  const dir = tempDir('palisade-spool-');
  const clock = new ManualClock(1_000_000);
  const spool = Spool.open({ dir, clock, batchMaxEvents: 5, segmentBytes: 1, maxAgeMs: 60_000 });
  t.after(() => spool.close());
  for (let i = 0; i < 10; i++) spool.append(makeEvent(i));
  spool.ack(1);
  clock.advance(30_000);
  for (let i = 10; i < 15; i++) spool.append(makeEvent(i));
  clock.advance(40_000);
  spool.enforceCaps();
  // Batch 2 (sealed 70 s ago) is dropped; batch 3 (sealed 40 s ago) stays; batch 1 was acked.
  assert.deepEqual(
    drain(spool).map((b) => b.seq),
    [3],
  );
  const d = spool.stats().drops;
  assert.equal(d.events, 5);
  assert.equal(d.batches, 1);
});

test('raiseSeqFloor numbers new batches above a sequence the server already holds, across restarts', (t) => {
  const dir = tempDir('palisade-spool-');
  let spool = Spool.open({ dir, batchMaxEvents: 1 });
  spool.append(makeEvent(1));
  spool.raiseSeqFloor(0);
  spool.raiseSeqFloor(41);
  spool.append(makeEvent(2));
  assert.deepEqual(
    drain(spool).map((b) => b.seq),
    [1, 42],
  );
  spool.close();
  spool = Spool.open({ dir, batchMaxEvents: 1 });
  t.after(() => spool.close());
  spool.append(makeEvent(3));
  assert.equal(spool.stats().lastSeq, 43);
});
