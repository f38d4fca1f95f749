// The agent runs its helpers (the eBPF sensor, the journal reader) as root: a helper binary
// that someone other than root could have changed is refused, with the reason in the
// capability report, and the agent keeps running without that sensor. Needs root (chown).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Tier } from '@palisade/protocol';
import { removeTempDir, tempDir, waitFor } from '@palisade/testkit';
import { BUILT_READER, JournaldSource } from './auth/journald-source.linux.js';
import { FollowStateStore } from './auth/follow-state.js';
import { checkHelperBinary } from './binary-trust.linux.js';
import { createBpfSensor } from './bpf/index.js';
import { warningLogger } from './test-logger.js';

const HELPER = fileURLToPath(new URL('../../sensor-bpf/build/palisade-sensor', import.meta.url));
const NOBODY = 65534;

function setup(t: { after(fn: () => void): void }) {
  const dir = tempDir('palisade-trust-');
  t.after(() => removeTempDir(dir));
  const copy = (from: string, name: string) => {
    const p = join(dir, name);
    copyFileSync(from, p);
    chmodSync(p, 0o755);
    return p;
  };
  return { dir, copy };
}

/** running says whether any process runs the executable `path`. */
function running(path: string): boolean {
  try {
    execFileSync('pgrep', ['-f', '--', path], { encoding: 'utf8' });
    return true;
  } catch {
    return false;
  }
}

test('checkHelperBinary (root): owner, mode, the directories above, symlinks', (t) => {
  assert.equal(process.getuid?.(), 0, 'this test needs root');
  const { dir, copy } = setup(t);
  const good = copy(HELPER, 'good');
  assert.deepEqual(checkHelperBinary(good), { ok: true, path: good });
  const owned = copy(HELPER, 'owned');
  chownSync(owned, NOBODY, NOBODY);
  assert.deepEqual(checkHelperBinary(owned), {
    ok: false,
    reason: `${owned} is owned by uid ${NOBODY}, not root: refusing to run it (chown root ${owned})`,
  });
  const gw = copy(HELPER, 'group-writable');
  chmodSync(gw, 0o775);
  assert.match(
    (checkHelperBinary(gw) as { reason: string }).reason,
    /is writable by its group \(mode 0775\)/,
  );
  const ow = copy(HELPER, 'world-writable');
  chmodSync(ow, 0o757);
  assert.match((checkHelperBinary(ow) as { reason: string }).reason, /is writable by others \(mode 0757\)/);
  // A directory others may write to (not sticky): they could put another file in its place.
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const inOpen = copy(HELPER, 'open/helper');
  assert.match(
    (checkHelperBinary(inOpen) as { reason: string }).reason,
    new RegExp(`^${open}, a directory above ${inOpen}, is writable by others \\(mode 0777\\)`),
  );
  // Sticky like /tmp: others cannot rename or remove root's files there.
  chmodSync(open, 0o1777);
  assert.equal(checkHelperBinary(inOpen).ok, true);
  const byUser = join(dir, 'users-dir');
  mkdirSync(byUser);
  chownSync(byUser, NOBODY, NOBODY);
  const inUsers = copy(HELPER, 'users-dir/helper');
  assert.match(
    (checkHelperBinary(inUsers) as { reason: string }).reason,
    /users-dir, a directory above .* is owned by uid 65534/,
  );
  // A symlink is judged by what it points to, and that is what would run.
  const link = join(dir, 'link');
  symlinkSync(owned, link);
  assert.match(
    (checkHelperBinary(link) as { reason: string }).reason,
    new RegExp(`^${link} \\(${owned}\\) is owned by uid ${NOBODY}`),
  );
  const goodLink = join(dir, 'good-link');
  symlinkSync(good, goodLink);
  assert.deepEqual(checkHelperBinary(goodLink), { ok: true, path: good });
  assert.match(
    (checkHelperBinary(join(dir, 'missing')) as { reason: string }).reason,
    /cannot be resolved: ENOENT/,
  );
  assert.match((checkHelperBinary(dir) as { reason: string }).reason, /is not a regular file/);
});

test('the eBPF sensor (root) refuses a helper owned by a user, or group-writable: driverless for it, with the reason', async (t) => {
  const { copy } = setup(t);
  for (const [name, spoil, want] of [
    [
      'owned-helper',
      (p: string) => chownSync(p, NOBODY, NOBODY),
      /^helper refused: .* is owned by uid 65534, not root/,
    ],
    [
      'gw-helper',
      (p: string) => chmodSync(p, 0o775),
      /^helper refused: .* is writable by its group \(mode 0775\)/,
    ],
  ] as const) {
    const helper = copy(HELPER, name);
    spoil(helper);
    const { logger } = warningLogger();
    const s = createBpfSensor({ helperPath: helper, ignorePids: [], tier: Tier.SERVER, logger });
    await s.start(() => {});
    const caps = s.capabilities();
    assert.equal(caps.length, 4);
    for (const c of caps) {
      assert.equal(c.active, false);
      assert.match(c.reason, want);
    }
    assert.equal(running(helper), false, 'the helper was never started');
    assert.equal(s.counters().restarts, 0);
    await s.stop();
  }
});

test('the journal reader (root) is refused while a user owns it, and starts once root owns it again', async (t) => {
  const { dir, copy } = setup(t);
  const reader = copy(BUILT_READER, 'palisade-journal');
  chownSync(reader, NOBODY, NOBODY);
  const journal = join(dir, 'journal');
  mkdirSync(join(journal, 'm'), { recursive: true });
  writeFileSync(join(journal, 'm', 'system.journal'), '');
  const { logger } = warningLogger();
  const src = new JournaldSource({
    store: new FollowStateStore(join(dir, 'state')),
    logger,
    directory: journal,
    readerPath: reader,
    pollMs: 100,
  });
  src.start(() => {});
  t.after(() => src.stop());
  assert.equal(src.status().active, false);
  assert.match(
    src.status().reason,
    new RegExp(`^journal reader refused: ${reader} is owned by uid ${NOBODY}, not root`),
  );
  assert.equal(running(reader), false);
  chownSync(reader, 0, 0);
  await waitFor('the reader to start', () => src.status().active, 10_000);
  assert.equal(running(reader), true);
});
