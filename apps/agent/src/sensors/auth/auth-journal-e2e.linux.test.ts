// The journal as the auth source, end to end with real programs (needs root and the systemd
// package: it adds users and a sudoers file, and starts systemd-journald and sshd in a mount
// namespace of its own, whose /dev/log, /run/systemd and journal directories are private, so the
// machine's logging is untouched). No auth log file exists, as on a Debian 12 install without
// rsyslog: the sensor reads the journal, once through the agent's palisade-journal and once
// through journalctl (what it falls back to when palisade-journal is not built).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthProvenance, type Event } from '@palisade/protocol';
import { type JournalNamespace, type Sshd, startJournalNamespace, type TestUser } from '@palisade/testkit';
import { type AuthSensor, createAuthSensor } from './auth-sensor.js';
import { STATE_FILE_NAME } from './follow-state.js';
import { BUILT_READER } from './journald-source.linux.js';
import { warningLogger } from '../test-logger.js';
import {
  type AuthScenario,
  FORGED_LINE,
  forgeSshdLogin,
  sshPasswordLogins,
  startAuthWorld,
  suAs,
  sudoWrongPassword,
  suRightPassword,
  suWrongPassword,
  uidOf,
} from './auth-scenarios.linux.test-util.js';
import { sleep, tempDir, waitFor, removeTempDir } from '@palisade/testkit';

for (const reader of [BUILT_READER, '/usr/bin/journalctl']) {
  describe(`auth sensor on the systemd journal with su, sudo and sshd, read by ${basename(reader)} (root)`, {
    timeout: 180_000,
  }, () => {
    const tmp = tempDir('palisade-auth-journal-');
    const cleanups: Array<() => unknown> = [];
    const stateDir = join(tmp, 'state');
    const authLog = join(tmp, 'auth.log');
    let ns: JournalNamespace;
    let sshd: Sshd;
    let alice: TestUser;
    let bob: TestUser;
    let sensor: AuthSensor;
    let events: Event[] = [];
    const { logger, warnings } = warningLogger();
    const warned = (re: RegExp) => warnings.some((w) => re.test(w.msg));

    const startSensor = async () => {
      events = [];
      sensor = createAuthSensor({
        stateDir,
        logPaths: [authLog],
        wtmpPath: null,
        btmpPath: null,
        auditLogPath: null,
        journalDirectory: ns.journalDir,
        journalReaderPath: reader,
        pollMs: 300,
        logger,
      });
      await sensor.start((e) => events.push(e));
      await waitFor('journal source active', () => sensor.capabilities()[0]?.active === true, 10_000);
    };
    const find = (pred: (e: Event) => boolean, what: string) =>
      waitFor(what, () => events.some(pred), 10_000).then(() => events.find(pred)!);
    const scenario = (): AuthScenario => ({ ns, sshd, alice, bob, find });
    const su = (password: string) => suAs(scenario(), password);
    const switches = () =>
      events.filter((e) => e.serviceName === 'su' && e.statusId === 1 && e.activityId === 7);
    /** pids of the reader processes reading the test's journal. */
    const readers = () => {
      try {
        return execFileSync('pgrep', ['-f', '--', `--directory=${ns.journalDir}`], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .map(Number);
      } catch {
        return [];
      }
    };

    before(async () => {
      cleanups.push(() => removeTempDir(tmp));
      ({ ns, sshd, alice, bob } = await startAuthWorld(tmp, cleanups, startJournalNamespace));
      await startSensor();
      cleanups.push(() => sensor.stop());
    });

    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    it('reports the journal as the auth source, with nothing degraded', () => {
      const cap = sensor.capabilities()[0]!;
      assert.equal(cap.active, true);
      assert.equal(cap.source, 'journald');
      assert.equal(cap.reason, '');
      assert.equal(readers().length, 1);
      assert.equal(readlinkSync(`/proc/${readers()[0]}/exe`), reader);
    });

    it('su with a wrong and a right password: account switches with the line auth.log would hold', async () => {
      const f = await suWrongPassword(scenario());
      assert.ok(Math.abs(Number(f.timeMs) - Date.now()) < 60_000);
      await suRightPassword(scenario(), 'sleep 1');
    });

    it('sudo failure carries the users and the command', async () => {
      await sudoWrongPassword(scenario());
    });

    it('sshd failed and accepted password logins carry user, address, port and method', async () => {
      await sshPasswordLogins(scenario());
    });

    it('every record of sshd, su and sudo so far is verified by its sender (journald _EXE, _UID, _CAP_EFFECTIVE)', () => {
      const auth = events.filter((e) => ['sshd', 'su', 'sudo'].includes(e.serviceName));
      assert.ok(auth.length >= 6, `${auth.length} events`);
      for (const e of auth) {
        assert.equal(e.authProvenance, AuthProvenance.VERIFIED, `${e.rawData}: ${e.statusDetail}`);
        assert.ok(e.statusId === 1 || e.statusId === 2, e.rawData);
      }
      const paths = new Set(auth.map((e) => `${e.serviceName} ${e.process?.path}`));
      assert.ok(paths.has('sshd /usr/sbin/sshd'), [...paths].join());
      assert.ok(paths.has('su /usr/bin/su'), [...paths].join());
      assert.ok(paths.has('sudo /usr/bin/sudo'), [...paths].join());
    });

    it('a local user forging an sshd login with logger is reported as forged, not as a login; real ones beside it are verified', async () => {
      const forged = await forgeSshdLogin(scenario());
      // On the old code this was a successful root ssh login from 203.0.113.9.
      assert.deepEqual(
        events
          .filter((e) => e.statusId === 1 && e.user?.name === 'root' && e.srcEndpoint?.ip === '203.0.113.9')
          .map((e) => e.rawData),
        [],
      );
      assert.equal(forged.authProvenance, AuthProvenance.FORGED);
      assert.equal(forged.statusId, 99);
      assert.equal(forged.severityId, 3);
      assert.equal(forged.serviceName, 'sshd');
      assert.equal(forged.actorUser?.uid, await uidOf(alice.name));
      assert.equal(forged.actorUser?.name, alice.name);
      assert.notEqual(forged.process?.pid, 4242, 'the pid journald saw, not the one logger claimed');
      assert.match(
        forged.statusDetail,
        /^forged: claims success; sent by uid \d+, pid \d+, .*an unprivileged process, not sshd$/,
      );
      assert.ok(forged.rawData.endsWith(`sshd[4242]: ${FORGED_LINE}`));
      const src = sensor.stats().sources.find((s) => s.name === 'journald')!;
      assert.equal(src.forged, 1);
      assert.ok(warned(/forged an authentication record/), JSON.stringify(warnings));
      // Real logins in the same moment still count as what they are.
      const n = switches().length;
      assert.equal((await suAs(scenario(), bob.password, 'sleep 1')).code, 0);
      await waitFor('the real su', () => switches().length === n + 1, 10_000);
      const real = switches().at(-1)!;
      assert.equal(real.authProvenance, AuthProvenance.VERIFIED);
      assert.equal(real.process?.path, '/usr/bin/su');
      const { accepted } = await sshPasswordLogins({
        ...scenario(),
        find: (pred, what) => find((e) => e.timeMs >= forged.timeMs && pred(e), what),
      });
      assert.equal(accepted.authProvenance, AuthProvenance.VERIFIED);
      assert.equal(accepted.statusId, 1);
    });

    it('a restart resumes at the saved cursor: what happened meanwhile arrives once, nothing repeats', async () => {
      await sensor.stop();
      assert.deepEqual(readers(), []);
      const stoppedAt = Date.now();
      assert.equal((await su(bob.password)).code, 0);
      assert.equal((await su(bob.password)).code, 0);
      await startSensor();
      await waitFor('the two su while stopped', () => switches().length >= 2, 10_000);
      await sleep(1500);
      assert.equal(switches().length, 2);
      // Nothing from before the stop came again.
      assert.deepEqual(
        events.filter((e) => Number(e.timeMs) < stoppedAt - 1000).map((e) => e.rawData),
        [],
      );
    });

    it('a cursor the reader refuses falls back to the saved time, with a warning, losing nothing', async () => {
      await sensor.stop();
      const path = join(stateDir, STATE_FILE_NAME);
      const state = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { cursor?: string }>;
      const key = `journal:${ns.journalDir}`;
      assert.ok(state[key]?.cursor, 'a journal position was saved');
      // Valid in form (so it is handed to the reader), but no journal has it.
      state[key]!.cursor = 'x=1;y=2';
      writeFileSync(path, JSON.stringify(state));
      assert.equal((await su('wrong-password')).code !== 0, true);
      await startSensor();
      await find(
        (x) => x.serviceName === 'su' && x.rawData.includes('FAILED SU'),
        'FAILED SU after refused cursor',
      );
      assert.ok(warned(/refused the saved cursor/), JSON.stringify(warnings));
      const src = sensor.stats().sources.find((s) => s.name === 'journald')!;
      assert.equal(src.active, true);
    });

    it('the reader killed is started again and the entries keep coming', async () => {
      const [pid] = readers();
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      await waitFor('a new reader', () => readers().length === 1 && readers()[0] !== pid, 10_000);
      const n = switches().length;
      assert.equal((await su(bob.password)).code, 0);
      await waitFor('su after the restart', () => switches().length === n + 1, 10_000);
      assert.ok(warned(/the journal reader exited; restarting/), JSON.stringify(warnings));
    });

    it('when an auth log file appears the journal reader stands by (the same records)', async () => {
      writeFileSync(authLog, '');
      await waitFor('the reader stopped', () => readers().length === 0, 10_000);
      const src = sensor.stats().sources.find((s) => s.name === 'journald')!;
      assert.equal(src.active, false);
      assert.equal(src.reason, 'standing by: auth.log followed (the same records)');
      assert.equal(sensor.capabilities()[0]?.source, 'auth.log');
      // The journal no longer delivers: a su now shows only in the journal, not as an event.
      const n = switches().length;
      assert.equal((await su(bob.password)).code, 0);
      await sleep(1500);
      assert.equal(switches().length, n);
    });
  });
}
