// End to end with real programs (needs root: it adds users, a sudoers file, mount namespaces,
// and starts rsyslogd and sshd). The programs log through a private rsyslogd whose /dev/log
// exists only in a mount namespace this test creates, so the machine's logging is untouched;
// sshd also writes the machine's real /var/log/btmp, which the sensor follows for dedup.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthProvenance, type Event } from '@palisade/protocol';
import { type AuthSensor, createAuthSensor } from './auth-sensor.js';
import {
  authorizeKey,
  inPty,
  ptyScript,
  type Sshd,
  type SyslogNamespace,
  sshLogin,
  startSyslogNamespace,
  type TestUser,
} from '@palisade/testkit';
import {
  type AuthScenario,
  forgeSshdLogin,
  sshPasswordLogins,
  startAuthWorld,
  sudoWrongPassword,
  suRightPassword,
  suAs,
  suWrongPassword,
} from './auth-scenarios.linux.test-util.js';
import { sleep, tempDir, waitFor, removeTempDir } from '@palisade/testkit';

describe('auth sensor end to end with su, sudo and sshd (root)', { timeout: 180_000 }, () => {
  const tmp = tempDir('palisade-auth-e2e-');
  const cleanups: Array<() => unknown> = [];
  let ns: SyslogNamespace;
  let sshd: Sshd;
  let alice: TestUser;
  let bob: TestUser;
  let sensor: AuthSensor;
  let classic: AuthSensor;
  const events: Event[] = [];
  const classicEvents: Event[] = [];

  before(async () => {
    cleanups.push(() => removeTempDir(tmp));
    ({ ns, sshd, alice, bob } = await startAuthWorld(tmp, cleanups, startSyslogNamespace));
    sensor = createAuthSensor({
      stateDir: join(tmp, 'state'),
      logPaths: [ns.rfc3339Log],
      wtmpPath: '/var/log/wtmp',
      btmpPath: '/var/log/btmp',
      // auditd may or may not run here (the overhead benchmark starts one): leave it out.
      auditLogPath: null,
      pollMs: 500,
      dedupWindowMs: 3000,
    });
    await sensor.start((e) => events.push(e));
    cleanups.push(() => sensor.stop());
    classic = createAuthSensor({
      stateDir: join(tmp, 'state-classic'),
      logPaths: [ns.classicLog],
      wtmpPath: null,
      btmpPath: null,
      auditLogPath: null,
      pollMs: 500,
    });
    await classic.start((e) => classicEvents.push(e));
    cleanups.push(() => classic.stop());
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const ours = (list: Event[]) =>
    list.filter((e) => [alice.name, bob.name].some((n) => e.user?.name === n || e.actorUser?.name === n));
  const find = (pred: (e: Event) => boolean, what: string) =>
    waitFor(what, () => events.some(pred), 10_000).then(() => events.find(pred)!);
  const scenario = (): AuthScenario => ({ ns, sshd, alice, bob, find });

  it('su with a wrong password gives a failed account switch with the original line', async () => {
    await suWrongPassword(scenario());
  });

  it('su with the right password gives a successful account switch', async () => {
    await suRightPassword(scenario());
  });

  it('sudo failure and success carry the users and the command', async () => {
    await sudoWrongPassword(scenario());
    const good = await inPty(ns, alice.password, [
      'runuser',
      '-u',
      alice.name,
      '--',
      'sudo',
      '-k',
      '/usr/bin/id',
      '-u',
    ]);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /\b0\b/);
    const s = await find((x) => x.serviceName === 'sudo' && x.statusId === 1, 'sudo success');
    assert.equal(s.user?.name, 'root');
    assert.equal(s.actorUser?.name, alice.name);
    assert.equal(s.command, '/usr/bin/id -u');
    assert.match(s.process?.tty ?? '', /^pts\/\d+$/);
  });

  it('sshd failed and accepted password logins carry user, address, port and method', async () => {
    await sshPasswordLogins(scenario());
  });

  it('an unknown ssh user is reported as invalid', async () => {
    const ghost = `${alice.name}x`;
    const r = await sshLogin({ port: sshd.port, user: ghost, password: 'whatever' });
    assert.notEqual(r.code, 0);
    const e = await find((x) => x.user?.name === ghost && x.rawData.includes('Invalid user'), 'invalid user');
    assert.equal(e.statusId, 2);
    assert.equal(e.statusDetail, 'invalid user');
    await find(
      (x) => x.user?.name === ghost && x.rawData.includes('Failed password for invalid user'),
      'failed invalid',
    );
  });

  it('a public-key login over IPv6 carries the method, the key and the IPv6 address', async () => {
    const key = await authorizeKey(tmp, bob.name);
    const r = await sshLogin({ port: sshd.port, user: bob.name, host: '::1', identity: key });
    assert.equal(r.code, 0, r.out);
    const e = await find(
      (x) => x.user?.name === bob.name && x.serviceName === 'sshd' && x.statusId === 1,
      'publickey',
    );
    assert.equal(e.authProtocol, 'publickey');
    assert.equal(e.srcEndpoint?.ip, '::1');
    assert.match(e.statusDetail, /^ED25519 SHA256:/);
  });

  it('login on a terminal: a failed and a successful local logon, and the logout from wtmp', async () => {
    // A wrong password, then kill login at its next "login:" prompt.
    const bad = await ptyScript(
      ns,
      [
        ['assword', 'wrong-password\n'],
        ['login:', null],
      ],
      ['login', bob.name],
    );
    assert.match(bad.out, /Login incorrect/);
    const f = await find(
      (x) => x.serviceName === 'login' && x.rawData.includes('FAILED LOGIN'),
      'FAILED LOGIN',
    );
    assert.equal(f.statusId, 2);
    assert.equal(f.activityId, 1);
    assert.equal(f.user?.name, bob.name);
    assert.equal(f.statusDetail, 'Authentication failure');
    assert.match(f.process?.tty ?? '', /^pts\/\d+$/);
    assert.equal(f.isRemote, false);
    assert.equal(f.logonTypeId, 2);
    // The right password, then leave the shell.
    const good = await ptyScript(
      ns,
      [
        ['assword', `${bob.password}\n`],
        ['$ ', 'exit\n'],
      ],
      ['login', bob.name],
    );
    assert.equal(good.code, 0, good.out);
    const s = await find(
      (x) => x.serviceName === 'login' && x.statusId === 1 && x.activityId === 1,
      'login session',
    );
    assert.equal(s.user?.name, bob.name);
    assert.match(
      s.rawData,
      new RegExp(`pam_unix\\(login:session\\): session opened for user ${bob.name}\\(uid=\\d+\\)`),
    );
    const out = await find((x) => x.activityId === 2 && x.user?.name === bob.name, 'logout from wtmp');
    assert.match(out.rawData, /^wtmp: type=8 /);
    assert.equal(out.serviceName, '');
  });

  it('keeps reading across a logrotate-style rotation (rename + HUP) and a copytruncate', async () => {
    const switches = () => events.filter((e) => e.serviceName === 'su' && e.statusId === 1).length;
    const su = () => suAs(scenario(), bob.password);
    const before = switches();
    // What logrotate plus Debian's rsyslog-rotate do: rename, then HUP so rsyslogd reopens.
    renameSync(ns.rfc3339Log, `${ns.rfc3339Log}.1`);
    process.kill(ns.pid, 'SIGHUP');
    await sleep(500);
    assert.equal((await su()).code, 0);
    await waitFor('su after rotation', () => switches() >= before + 1, 10_000);
    // The line went to the new file (rsyslogd reopened), so the follower switched files.
    assert.ok(existsSync(ns.rfc3339Log), 'rsyslogd created a new auth.log');
    assert.match(readFileSync(ns.rfc3339Log, 'utf8'), new RegExp(`\\(to ${bob.name}\\) ${alice.name}`));
    // copytruncate: the file is emptied in place while rsyslogd keeps writing to it.
    const n = switches();
    truncateSync(ns.rfc3339Log, 0);
    assert.equal((await su()).code, 0);
    await waitFor('su after truncation', () => switches() >= n + 1, 10_000);
  });

  it('btmp records of those failures are deduplicated against the log lines', async () => {
    // Let every held btmp record reach its dedup deadline.
    await sleep(3500);
    const fromBtmp = events.filter((e) => e.rawData.startsWith('btmp:') && e.rawData.includes(alice.name));
    assert.deepEqual(
      fromBtmp.map((e) => e.rawData),
      [],
    );
    assert.ok(sensor.stats().deduplicated >= 2, `deduplicated ${sensor.stats().deduplicated}`);
    const cap = sensor.capabilities()[0];
    assert.equal(cap?.active, true);
    assert.match(cap?.source ?? '', /auth\.log/);
  });

  it('a log file carries no sender: every event from it is unverified, a forged line too', async () => {
    const forged = await forgeSshdLogin(scenario());
    // auth.log holds the same line sshd would write; nothing in the file tells them apart.
    assert.equal(forged.authProvenance, AuthProvenance.UNVERIFIED);
    assert.equal(forged.statusId, 1);
    assert.deepEqual([...new Set(events.map((e) => e.authProvenance))], [AuthProvenance.UNVERIFIED]);
  });

  it('the classic timestamp format yields the same events', async () => {
    await waitFor(
      'classic events',
      () => ours(classicEvents).length === ours(events.filter((e) => !e.rawData.startsWith('wtmp:'))).length,
      10_000,
    );
    const key = (e: Event) =>
      `${e.serviceName}|${e.activityId}|${e.statusId}|${e.user?.name}|${e.actorUser?.name}|${e.srcEndpoint?.ip ?? ''}|${e.command}`;
    assert.deepEqual(
      ours(classicEvents).map(key),
      ours(events.filter((e) => !e.rawData.startsWith('wtmp:'))).map(key),
    );
    for (const e of ours(classicEvents)) assert.match(e.rawData, /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d /);
    // Classic stamps have whole seconds and local time; they agree with RFC 3339 to the second.
    const first = ours(events)[0]!;
    const firstClassic = ours(classicEvents)[0]!;
    assert.ok(Math.abs(Number(first.timeMs) - Number(firstClassic.timeMs)) < 1000);
  });
});
