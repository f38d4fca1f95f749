// Test-only: the real authentication actions both end-to-end tests play (through a private
// rsyslogd or a private systemd-journald) and what the resulting events must carry.
import assert from 'node:assert/strict';
import type { Event } from '@palisade/protocol';
import {
  allowSudo,
  createTestUser,
  inPty,
  type LogNamespace,
  removeTestUser,
  run,
  type Sshd,
  sshLogin,
  startSshd,
  type TestUser,
} from '@palisade/testkit';

/** A line as auth.log holds it (RSYSLOG_FileFormat), up to the program tag. */
export const LINE_START = String.raw`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d \S+ `;

/** AuthScenario is what the actions need: where to run them, who, and how to wait for an event. */
export interface AuthScenario {
  ns: LogNamespace;
  sshd: Sshd;
  alice: TestUser;
  bob: TestUser;
  find(pred: (e: Event) => boolean, what: string): Promise<Event>;
}

/**
 * startAuthWorld (root) starts the logging namespace, two throw-away users (alice may sudo
 * /usr/bin/id) and sshd on loopback in the namespace; each undo is pushed onto `cleanups`.
 */
export async function startAuthWorld<N extends LogNamespace>(
  dir: string,
  cleanups: Array<() => unknown>,
  startNamespace: (dir: string) => Promise<N>,
): Promise<{ ns: N; sshd: Sshd; alice: TestUser; bob: TestUser }> {
  assert.equal(process.getuid?.(), 0, 'this test needs root');
  const ns = await startNamespace(dir);
  cleanups.push(() => ns.stop());
  const alice = await createTestUser();
  cleanups.push(() => removeTestUser(alice));
  const bob = await createTestUser();
  cleanups.push(() => removeTestUser(bob));
  cleanups.push(allowSudo(alice, ['/usr/bin/id']));
  const sshd = await startSshd(ns, dir);
  cleanups.push(() => sshd.stop());
  return { ns, sshd, alice, bob };
}

/**
 * suAs runs `su bob -c <command>` as alice on a pty, typing `password`. su logs with alice's uid:
 * a command that keeps it running a moment ('sleep 1') lets journald see its executable and
 * capabilities even on a busy machine (ADR 0018).
 */
export function suAs(c: AuthScenario, password: string, command = 'true') {
  return inPty(c.ns, password, ['runuser', '-u', c.alice.name, '--', 'su', c.bob.name, '-c', command]);
}

/** suWrongPassword: a failed account switch alice → bob with its original line, and the PAM failure. */
export async function suWrongPassword(c: AuthScenario): Promise<Event> {
  const r = await suAs(c, 'wrong-password');
  assert.notEqual(r.code, 0, r.out);
  const e = await c.find(
    (x) => x.serviceName === 'su' && x.statusId === 2 && x.rawData.includes('FAILED SU'),
    'FAILED SU',
  );
  assert.equal(e.activityId, 7);
  assert.equal(e.user?.name, c.bob.name);
  assert.equal(e.actorUser?.name, c.alice.name);
  assert.match(
    e.rawData,
    new RegExp(`${LINE_START}su\\[\\d+\\]: FAILED SU \\(to ${c.bob.name}\\) ${c.alice.name} on pts/\\d+$`),
  );
  assert.ok(e.process && e.process.pid > 0);
  const pam = await c.find(
    (x) => x.serviceName === 'su' && x.rawData.includes('pam_unix(su:auth)'),
    'pam_unix(su:auth)',
  );
  assert.equal(pam.statusId, 2);
  assert.equal(pam.user?.name, c.bob.name);
  return e;
}

/** suRightPassword: a successful account switch alice → bob. */
export async function suRightPassword(c: AuthScenario, command = 'true'): Promise<Event> {
  const r = await suAs(c, c.bob.password, command);
  assert.equal(r.code, 0, r.out);
  const e = await c.find((x) => x.serviceName === 'su' && x.statusId === 1, 'successful su');
  assert.equal(e.activityId, 7);
  assert.equal(e.user?.name, c.bob.name);
  assert.equal(e.actorUser?.name, c.alice.name);
  assert.match(e.rawData, new RegExp(`: \\(to ${c.bob.name}\\) ${c.alice.name} on pts/\\d+$`));
  return e;
}

/** sudoWrongPassword: alice's failed `sudo /usr/bin/id` (needs allowSudo(alice, ['/usr/bin/id'])). */
export async function sudoWrongPassword(c: AuthScenario): Promise<Event> {
  const bad = await inPty(c.ns, 'wrong-password', [
    'runuser',
    '-u',
    c.alice.name,
    '--',
    'sudo',
    '-k',
    '/usr/bin/id',
  ]);
  assert.notEqual(bad.code, 0, bad.out);
  const f = await c.find(
    (x) => x.serviceName === 'sudo' && x.rawData.includes('incorrect password attempt'),
    'sudo failure',
  );
  assert.equal(f.statusId, 2);
  assert.equal(f.activityId, 7);
  assert.equal(f.user?.name, 'root');
  assert.equal(f.actorUser?.name, c.alice.name);
  assert.equal(f.command, '/usr/bin/id');
  assert.equal(f.statusDetail, '1 incorrect password attempt');
  return f;
}

/** sshPasswordLogins: a failed, then an accepted password login of alice over IPv4 loopback. */
export async function sshPasswordLogins(c: AuthScenario): Promise<{ failed: Event; accepted: Event }> {
  const bad = await sshLogin({ port: c.sshd.port, user: c.alice.name, password: 'wrong-password' });
  assert.notEqual(bad.code, 0, bad.out);
  const f = await c.find(
    (x) => x.serviceName === 'sshd' && x.rawData.includes('Failed password'),
    'sshd failure',
  );
  assert.equal(f.statusId, 2);
  assert.equal(f.activityId, 1);
  assert.equal(f.user?.name, c.alice.name);
  assert.equal(f.srcEndpoint?.ip, '127.0.0.1');
  assert.ok((f.srcEndpoint?.port ?? 0) > 0);
  assert.equal(f.authProtocol, 'password');
  assert.equal(f.isRemote, true);
  assert.equal(f.logonTypeId, 10);
  const good = await sshLogin({ port: c.sshd.port, user: c.alice.name, password: c.alice.password });
  assert.equal(good.code, 0, good.out);
  const a = await c.find((x) => x.serviceName === 'sshd' && x.statusId === 1, 'sshd accepted');
  assert.equal(a.user?.name, c.alice.name);
  assert.equal(a.srcEndpoint?.ip, '127.0.0.1');
  assert.equal(a.authProtocol, 'password');
  assert.match(
    a.rawData,
    new RegExp(
      `${LINE_START}sshd\\[\\d+\\]: Accepted password for ${c.alice.name} from 127\\.0\\.0\\.1 port \\d+ ssh2$`,
    ),
  );
  return { failed: f, accepted: a };
}

/** The forgery of issue 10: a local user writes sshd's success line with logger(1). */
export const FORGED_LINE = 'Accepted password for root from 203.0.113.9 port 22 ssh2';

/**
 * forgeSshdLogin runs, as alice (an unprivileged user), exactly
 * `logger -p authpriv.info -t sshd --id=4242 'Accepted password for root from 203.0.113.9 port 22 ssh2'`
 * in the namespace, and returns the event it produced.
 */
export async function forgeSshdLogin(c: AuthScenario): Promise<Event> {
  const r = await run('nsenter', [
    '-t',
    String(c.ns.pid),
    '-m',
    '--',
    'runuser',
    '-u',
    c.alice.name,
    '--',
    'logger',
    '-p',
    'authpriv.info',
    '-t',
    'sshd',
    '--id=4242',
    FORGED_LINE,
  ]);
  assert.equal(r.code, 0, r.out);
  return c.find((x) => x.rawData.endsWith(`sshd[4242]: ${FORGED_LINE}`), 'the forged line');
}

/** uidOf returns a local user's uid. */
export async function uidOf(name: string): Promise<string> {
  const r = await run('id', ['-u', name]);
  assert.equal(r.code, 0, r.out);
  return r.out.trim();
}
