// JournaldSource at its process boundary: what it reports when it cannot read the journal, and
// what it does with a reader that prints garbage and dies. The journal itself is exercised
// for real (root, systemd-journald) in auth-journal-e2e.linux.test.ts.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Backoff } from '@palisade/common';
import { AuthProvenance, type Event } from '@palisade/protocol';
import { warningLogger } from '../test-logger.js';
import { FollowStateStore } from './follow-state.js';
import { JournaldSource } from './journald-source.linux.js';
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

test('records are judged by who journald says sent them: verified, unverified, and forged ones reported as forged', async (t) => {
  const s = setup(t);
  writeFileSync(join(s.journal, 'machine', 'system.journal'), '');
  const passwd = join(s.dir, 'passwd');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\nmallory:x:1000:1000::/home/mallory:/bin/sh\n');
  let i = 0;
  const entry = (fields: Record<string, string>) =>
    JSON.stringify({
      __CURSOR: CURSOR.replace('i=4', `i=${(++i).toString(16)}`),
      __REALTIME_TIMESTAMP: '1795738230540949',
      ...fields,
    });
  const lines = [
    // A local user: logger -p authpriv.info -t sshd --id=4242 'Accepted password for root ...'.
    // logger exited before journald looked at /proc, so there is no _EXE or _COMM.
    entry({
      SYSLOG_IDENTIFIER: 'sshd',
      SYSLOG_PID: '4242',
      _PID: '5151',
      _UID: '1000',
      MESSAGE: 'Accepted password for root from 203.0.113.9 port 22 ssh2',
    }),
    // The same user writing PAM's text under another name.
    entry({
      SYSLOG_IDENTIFIER: 'gdm',
      _PID: '5152',
      _UID: '1000',
      _COMM: 'python3',
      _EXE: '/usr/bin/python3.11',
      _CAP_EFFECTIVE: '0',
      MESSAGE:
        'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.4  user=root',
    }),
    // The real su: the invoking user's uid, but the capabilities of its setuid-root binary.
    entry({
      SYSLOG_IDENTIFIER: 'su',
      SYSLOG_PID: '6000',
      _PID: '6000',
      _UID: '1000',
      _COMM: 'su',
      _EXE: '/usr/bin/su',
      _CAP_EFFECTIVE: '1fffeffffff',
      MESSAGE: 'FAILED SU (to root) mallory on pts/1',
    }),
    // su run under ptrace (or a copy of it): the setuid bit did not apply.
    entry({
      SYSLOG_IDENTIFIER: 'su',
      _PID: '6001',
      _UID: '1000',
      _COMM: 'su',
      _EXE: '/usr/bin/su',
      _CAP_EFFECTIVE: '0',
      MESSAGE: '(to root) mallory on pts/1',
    }),
    // A root process that is not a trusted sshd executable.
    entry({
      SYSLOG_IDENTIFIER: 'sshd',
      _PID: '7000',
      _UID: '0',
      _COMM: 'sshd',
      _EXE: '/opt/openssh/sbin/sshd',
      _CAP_EFFECTIVE: '1fffeffffff',
      MESSAGE: 'Accepted publickey for alice from 192.0.2.1 port 2000 ssh2',
    }),
    // The real sshd, upgraded on disk while it ran.
    entry({
      SYSLOG_IDENTIFIER: 'sshd',
      _PID: '7001',
      _UID: '0',
      _COMM: 'sshd',
      _EXE: '/usr/sbin/sshd (deleted)',
      _CAP_EFFECTIVE: '1fffeffffff',
      MESSAGE: 'Accepted publickey for alice from 192.0.2.1 port 2001 ssh2',
    }),
  ];
  writeFileSync(join(s.dir, 'entries.json'), `${lines.join('\n')}\n`);
  const fake = join(s.dir, 'reader');
  writeFileSync(
    fake,
    `#!/bin/sh\necho "$@" > "${join(s.dir, 'args')}"\ncat "${join(s.dir, 'entries.json')}"\nexec sleep 60\n`,
  );
  chmodSync(fake, 0o755);
  const events: Event[] = [];
  const src = new JournaldSource({
    store: s.store,
    logger: s.logger,
    directory: s.journal,
    readerPath: fake,
    passwdPath: passwd,
  });
  src.start((e) => events.push(e));
  t.after(() => src.stop());
  await waitFor('every entry', () => events.length === lines.length, 10_000);
  const [forgedSshd, forgedPam, su, ptracedSu, optSshd, upgraded] = events;
  // Nothing the user wrote is a login: status Other, provenance forged, the user as actor.
  assert.equal(forgedSshd!.authProvenance, AuthProvenance.FORGED);
  assert.equal(forgedSshd!.statusId, 99);
  assert.equal(forgedSshd!.severityId, 3);
  assert.equal(forgedSshd!.user?.name, 'root');
  assert.equal(forgedSshd!.srcEndpoint?.ip, '203.0.113.9');
  assert.deepEqual(
    { uid: forgedSshd!.actorUser?.uid, name: forgedSshd!.actorUser?.name },
    { uid: '1000', name: 'mallory' },
  );
  assert.equal(forgedSshd!.process?.pid, 5151, 'the pid journald saw, not the --id the sender chose');
  assert.equal(
    forgedSshd!.statusDetail,
    'forged: claims success; sent by uid 1000, pid 5151, executable unknown: an unprivileged process, not sshd',
  );
  assert.equal(
    forgedSshd!.rawData,
    '2026-11-27T00:10:30.540949+00:00 - sshd[4242]: Accepted password for root from 203.0.113.9 port 22 ssh2',
  );
  assert.equal(forgedPam!.authProvenance, AuthProvenance.FORGED);
  assert.equal(forgedPam!.serviceName, 'sshd');
  assert.equal(forgedPam!.statusId, 99);
  assert.equal(forgedPam!.process?.path, '/usr/bin/python3.11');
  assert.equal(forgedPam!.process?.name, 'python3');
  assert.equal(su!.authProvenance, AuthProvenance.VERIFIED);
  assert.equal(su!.statusId, 2);
  assert.equal(su!.process?.path, '/usr/bin/su');
  assert.equal(ptracedSu!.authProvenance, AuthProvenance.FORGED);
  assert.equal(ptracedSu!.statusId, 99);
  assert.equal(optSshd!.authProvenance, AuthProvenance.UNVERIFIED);
  assert.equal(optSshd!.statusId, 1);
  assert.match(
    optSshd!.statusDetail,
    /unverified: sent by uid 0, pid 7000, \/opt\/openssh\/sbin\/sshd, which is not a trusted sshd executable/,
  );
  assert.equal(upgraded!.authProvenance, AuthProvenance.VERIFIED);
  assert.equal(src.stats().forged, 3);
  const forgedWarnings = s.warnings.filter((w) => /forged an authentication record/.test(w.msg));
  assert.equal(forgedWarnings.length, 3);
  assert.equal(forgedWarnings[0]!.obj.uid, 1000);
  // Both readers are asked for exactly the fields the parser reads, journald's trusted ones included.
  assert.match(
    readFileSync(join(s.dir, 'args'), 'utf8'),
    /--output-fields=_SOURCE_REALTIME_TIMESTAMP,SYSLOG_IDENTIFIER,SYSLOG_PID,_PID,_UID,_COMM,_EXE,_CAP_EFFECTIVE,_HOSTNAME,MESSAGE /,
  );
});

test('a program trusted by configuration is verified; an emptied list trusts nothing for that program', async (t) => {
  const s = setup(t);
  writeFileSync(join(s.journal, 'machine', 'system.journal'), '');
  const sshd = (exe: string, i: number) =>
    JSON.stringify({
      __CURSOR: CURSOR.replace('i=4', `i=${i}`),
      __REALTIME_TIMESTAMP: '1795738230540949',
      SYSLOG_IDENTIFIER: 'sshd',
      _PID: '7000',
      _UID: '0',
      _EXE: exe,
      MESSAGE: 'Accepted publickey for alice from 192.0.2.1 port 2000 ssh2',
    });
  const su = JSON.stringify({
    __CURSOR: CURSOR.replace('i=4', 'i=9'),
    __REALTIME_TIMESTAMP: '1795738230540949',
    SYSLOG_IDENTIFIER: 'su',
    _PID: '7001',
    _UID: '0',
    _EXE: '/usr/bin/su',
    MESSAGE: '(to root) alice on pts/1',
  });
  writeFileSync(
    join(s.dir, 'entries.json'),
    `${[sshd('/opt/openssh/sbin/sshd', 1), sshd('/usr/sbin/sshd', 2), su].join('\n')}\n`,
  );
  const fake = join(s.dir, 'reader');
  writeFileSync(fake, `#!/bin/sh\ncat "${join(s.dir, 'entries.json')}"\nexec sleep 60\n`);
  chmodSync(fake, 0o755);
  const events: Event[] = [];
  const src = new JournaldSource({
    store: s.store,
    logger: s.logger,
    directory: s.journal,
    readerPath: fake,
    trustedPrograms: { sshd: ['/opt/openssh/sbin/sshd'], su: [] },
  });
  src.start((e) => events.push(e));
  t.after(() => src.stop());
  await waitFor('every entry', () => events.length === 3, 10_000);
  assert.deepEqual(
    events.map((e) => e.authProvenance),
    [AuthProvenance.VERIFIED, AuthProvenance.UNVERIFIED, AuthProvenance.UNVERIFIED],
  );
  assert.match(events[2]!.statusDetail, /no executable is trusted for su \(auth\.trustedPrograms\)/);
});
