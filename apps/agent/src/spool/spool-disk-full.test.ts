// A full disk (root: a real 256 KiB tmpfs): appends never throw at the sensors, lost batches are
// counted in the drop report, and once space is freed the spool writes again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Spool } from './spool.js';
import { tempDir } from '@palisade/testkit';
import { drain, makeEvent } from './spool-fixtures.test-util.js';

const run = promisify(execFile);

test('disk full (root, tmpfs): no exception, dropped batches counted, writing resumes when space is freed', async (t) => {
  const mnt = tempDir('palisade-spool-');
  await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  let spool: Spool | undefined;
  t.after(async () => {
    try {
      spool?.close();
    } finally {
      await run('umount', ['-l', mnt]).catch(() => {});
    }
  });
  // Fill most of the file system with ballast the test can remove later.
  writeFileSync(join(mnt, 'ballast'), Buffer.alloc(200 * 1024));
  spool = Spool.open({ dir: join(mnt, 'spool'), batchMaxEvents: 50 });
  let n = 0;
  for (; n < 20_000; n++) spool.append(makeEvent(n));
  spool.seal();
  const s = spool.stats();
  assert.ok(s.drops.events > 0, 'the disk filled up and batches were dropped');
  assert.equal(s.drops.events + s.unackedEvents, n, 'every event is either spooled or counted');
  unlinkSync(join(mnt, 'ballast'));
  for (let seq = 1; seq <= s.lastSeq; seq++) spool.ack(seq);
  spool.append(makeEvent(n));
  spool.seal();
  const after = drain(spool);
  assert.equal(after.length, 1, 'writing works again');
  assert.equal(after[0]?.events[0]?.process?.cmdLine, `/bin/echo event-${n}`);
  assert.ok(readdirSync(join(mnt, 'spool')).length > 0);
});
