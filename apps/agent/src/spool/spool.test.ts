import assert from 'node:assert/strict';
import {
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Logger, ManualClock } from '@palisade/common';
import { fsyncDir } from './dir-sync.js';
import type { SpoolState } from './spool-state.js';
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

/** logs keeps what a Logger was told, by level. */
function logs() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
  };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return { lines, logger };
}

/** An hour after ManualClock's default time: when the spool is opened again. */
const LATER = Date.UTC(2026, 0, 1, 1);

/** spoolWithHistory leaves a closed spool with batches 1..6, of which 1..3 were acked and 4..6 not. */
function spoolWithHistory(dir: string, clock: ManualClock) {
  const spool = Spool.open({ dir, batchMaxEvents: 2, segmentBytes: 1, clock });
  for (let i = 0; i < 12; i++) spool.append(makeEvent(i));
  for (const seq of [1, 2, 3]) spool.ack(seq);
  spool.close();
}

test('a damaged state file (truncated, garbage, wrong shape) is rebuilt from the segments: nothing they hold is lost', (t) => {
  const valid = () => {
    const dir = tempDir('palisade-spool-');
    spoolWithHistory(dir, new ManualClock());
    return dir;
  };
  const good = readFileSync(join(valid(), 'spool-state.json'), 'utf8');
  for (const [what, content] of [
    ['truncated', good.slice(0, Math.floor(good.length / 2))],
    ['empty', ''],
    ['garbage', '\u0000\u00ff\u0013 not json at all'],
    ['an array', '[1,2,3]'],
    ['null', 'null'],
    ['a negative count', good.replace(/"ackedSeq":\d+/, '"ackedSeq":-4')],
    ['a string count', good.replace(/"lastSeq":\d+/, '"lastSeq":"6"')],
    ['acked above sealed', good.replace(/"ackedSeq":\d+/, '"ackedSeq":99')],
    ['no drop report', JSON.stringify({ ...JSON.parse(good), drops: undefined })],
    [
      'a bad byClass',
      JSON.stringify({ ...JSON.parse(good), drops: { ...JSON.parse(good).drops, byClass: { 1007: -1 } } }),
    ],
    ['corruptBySegment an array', JSON.stringify({ ...JSON.parse(good), corruptBySegment: [] })],
  ] as const) {
    const dir = valid();
    writeFileSync(join(dir, 'spool-state.json'), content);
    const { lines, logger } = logs();
    const spool = Spool.open({ dir, clock: new ManualClock(LATER), logger });
    // Every batch still in a segment is sent again (the server acks the ones it has as
    // duplicates): nothing is lost. The segments of acked batches 1 to 3 were deleted already.
    const batches = drain(spool);
    assert.deepEqual(
      batches.map((b) => b.seq),
      [4, 5, 6],
      what,
    );
    assert.deepEqual(
      cmdLines(batches),
      Array.from({ length: 6 }, (_, i) => `/bin/echo event-${i + 6}`),
      what,
    );
    // New batches are numbered above anything that may have been sealed before.
    spool.append(makeEvent(100));
    spool.seal();
    const next = spool.nextAfter(6)!.meta.seq;
    assert.equal(next, LATER + 1, what);
    const err = lines.find((l) => l.level === 'error')!;
    assert.match(err.msg, /^spool state lost: rebuilt it from the segments/, what);
    assert.match(String(err.obj.problem), /spool-state\.json was damaged: /, what);
    assert.equal(err.obj.keptAs, 'spool-state.json.damaged', what);
    assert.equal(err.obj.resentBatches, 3, what);
    assert.equal(readFileSync(join(dir, 'spool-state.json.damaged'), 'utf8'), content, what);
    spool.close();
    // The rebuilt state is a good one: the next start needs no rebuild.
    const again = logs();
    const reopened = Spool.open({ dir, logger: again.logger });
    assert.deepEqual(
      again.lines.filter((l) => l.level === 'error'),
      [],
      what,
    );
    assert.equal(reopened.stats().lastSeq, next, what);
    reopened.close();
  }
});

test('a state file missing beside segments is rebuilt the same way; a new spool writes its state at once', (t) => {
  const dir = tempDir('palisade-spool-');
  const fresh = Spool.open({ dir });
  assert.ok(existsSync(join(dir, 'spool-state.json')), 'a new spool saves its state when it opens');
  fresh.close();
  spoolWithHistory(dir, new ManualClock());
  rmSync(join(dir, 'spool-state.json'));
  const { lines, logger } = logs();
  const spool = Spool.open({ dir, logger, clock: new ManualClock(LATER) });
  t.after(() => spool.close());
  assert.deepEqual(
    drain(spool).map((b) => b.seq),
    [4, 5, 6],
  );
  assert.equal(spool.stats().lastSeq, LATER);
  const err = lines.find((l) => l.level === 'error')!;
  assert.match(String(err.obj.problem), /spool-state\.json is missing/);
  assert.equal(err.obj.keptAs, undefined);
});

test('the spool directory is synced after each new segment and after each rename of the state file', (t) => {
  const dir = tempDir('palisade-spool-');
  const seen: { files: string[]; state?: SpoolState }[] = [];
  // The real fsync, and a look at the directory at that moment: what the sync makes durable.
  const syncDir = (d: string) => {
    assert.equal(d, dir);
    const files = readdirSync(d).sort();
    const state = files.includes('spool-state.json')
      ? (JSON.parse(readFileSync(join(d, 'spool-state.json'), 'utf8')) as SpoolState)
      : undefined;
    seen.push({ files, ...(state ? { state } : {}) });
    fsyncDir(d);
  };
  const spool = Spool.open({ dir, batchMaxEvents: 1, segmentBytes: 1, syncDir });
  t.after(() => spool.close());
  // Opening a new spool: its state file, then its first segment.
  assert.deepEqual(
    seen.map((s) => s.files),
    [['spool-state.json'], ['seg-000000000001.psp', 'spool-state.json']],
  );
  seen.length = 0;
  // A full segment rolls over to a new one: synced with the new file in it.
  spool.append(makeEvent(1));
  spool.append(makeEvent(2));
  assert.deepEqual(
    seen.map((s) => s.files.filter((f) => f.startsWith('seg-')).at(-1)),
    ['seg-000000000002.psp'],
  );
  seen.length = 0;
  // An ack that empties a segment saves the state (renamed into place, then synced) before the
  // segment is deleted.
  spool.ack(1);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.state?.ackedSeq, 1, 'the synced directory holds the new state file');
  assert.ok(!seen[0]!.files.includes('spool-state.json.tmp'), 'renamed before the sync');
  assert.ok(seen[0]!.files.includes('seg-000000000001.psp'), 'the acked segment goes only after');
  assert.ok(!existsSync(join(dir, 'seg-000000000001.psp')));
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
