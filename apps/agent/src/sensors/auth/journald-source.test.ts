// JournaldSource at its process boundary: what it reports when it cannot read the journal, and
// what it does with a reader that prints garbage and dies. The journal itself is exercised
// for real (root, systemd-journald) in auth-journal-e2e.linux.test.ts.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Backoff } from '@palisade/common';
import type { Event } from '@palisade/protocol';
import { warningLogger } from '../test-logger.js';
import { FollowStateStore } from './follow-state.js';
import { JournaldSource } from './journald-source.js';
import { tempDir, waitFor, removeTempDir } from '@palisade/testkit';

const CURSOR =
  's=4eeed1df425a4198bd56af1ca3ed6cc9;i=4;b=29f04dabb1de454aa987f33b877c4dca;m=a;t=66136e3574a95;x=1';

function setup(t: { after: (fn: () => void) => void }) {
  const tmp = tempDir('palisade-journald-');
  t.after(() => removeTempDir(tmp));
  const journal = join(tmp, 'journal');
  mkdirSync(join(journal, 'machine'), { recursive: true });
  const { logger, warnings } = warningLogger();
  const store = new FollowStateStore(join(tmp, 'state'));
  return { dir: tmp, journal, logger, warnings, store };
}

test('no journal files, or no reader program: inactive, and the reason says which', (t) => {
  const s = setup(t);
  const none = new JournaldSource({ store: s.store, logger: s.logger, directory: s.journal, pollMs: 50 });
  none.start(() => {});
  t.after(() => none.stop());
  assert.deepEqual(none.status(), { active: false, reason: `no journal files in ${s.journal}` });
  const missing = join(s.dir, 'no-reader');
  const noTool = new JournaldSource({
    store: s.store,
    logger: s.logger,
    directory: s.journal,
    readerPath: missing,
  });
  noTool.start(() => {});
  t.after(() => noTool.stop());
  assert.deepEqual(noTool.status(), {
    active: false,
    reason: `${missing} not found`,
  });
});

test('a reader that prints garbage and exits: counted, logged, restarted with backoff; good entries still count', async (t) => {
  const s = setup(t);
  writeFileSync(join(s.journal, 'machine', 'system.journal'), '');
  const good = JSON.stringify({
    __CURSOR: CURSOR,
    __REALTIME_TIMESTAMP: '1795738230540949',
    SYSLOG_IDENTIFIER: 'su',
    _PID: '42',
    MESSAGE: 'FAILED SU (to bob) alice on pts/3',
  });
  const fake = join(s.dir, 'reader');
  writeFileSync(join(s.dir, 'good.json'), `${good}\n`);
  // Garbage, a line far over the limit, a good entry, then an error exit.
  writeFileSync(
    fake,
    `#!/bin/sh
echo 'not json at all'
echo '{"MESSAGE": "no cursor"}'
head -c 100000 /dev/zero | tr '\\0' 'a'; echo
cat "${join(s.dir, 'good.json')}"
echo "$@" >> "${join(s.dir, 'args')}"
echo 'reader: something broke' >&2
exit 3
`,
  );
  chmodSync(fake, 0o755);
  const events: Event[] = [];
  const src = new JournaldSource({
    store: s.store,
    logger: s.logger,
    directory: s.journal,
    readerPath: fake,
    backoff: new Backoff({ initialMs: 100, random: () => 1 }),
    saveMs: 10,
  });
  src.start((e) => events.push(e));
  t.after(() => src.stop());
  await waitFor('three restarts', () => src.restarts >= 3, 10_000);
  assert.ok(events.length >= 3);
  assert.equal(
    events[0]?.rawData,
    '2026-11-27T00:10:30.540949+00:00 - su[42]: FAILED SU (to bob) alice on pts/3',
  );
  assert.equal(events[0]?.statusId, 2);
  const st = src.stats();
  assert.ok(st.truncated >= 3 && st.ignored >= 9, JSON.stringify(st));
  assert.ok(src.malformed >= 6);
  assert.match(src.status().reason, /reader exited \(3\): reader: something broke/);
  assert.ok(
    s.warnings.some((w) => w.msg === 'the journal reader printed a line that is not a journal entry'),
  );
  assert.ok(s.warnings.some((w) => w.msg === 'the journal reader exited; restarting' && w.obj.code === 3));
  // Backoff doubles: 100, 200, 400 ms.
  const delays = s.warnings
    .filter((w) => w.msg === 'the journal reader exited; restarting')
    .map((w) => w.obj.retryMs);
  assert.deepEqual(delays.slice(0, 3), [100, 200, 400]);
  // The first start is at the end of the journal; later ones resume after the saved cursor.
  const runs = readFileSync(join(s.dir, 'args'), 'utf8').trim().split('\n');
  assert.match(runs[0]!, /--lines=0/);
  assert.match(runs[1]!, new RegExp(`--after-cursor=${CURSOR.replace(/[;]/g, '\\;')} --lines=all`));
  assert.match(runs[0]!, / SYSLOG_FACILITY=4 SYSLOG_FACILITY=10$/);
  assert.deepEqual(s.store.getJournal(`journal:${s.journal}`), {
    cursor: CURSOR,
    realtimeUs: 1795738230540949,
  });
});
