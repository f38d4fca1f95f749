import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthProvenance } from '@palisade/protocol';
import { DEFAULT_TRUSTED_PROGRAMS, judgeSender, privileged, trustedPrograms } from './trusted-programs.js';

const table = trustedPrograms();
const ROOT_CAPS = 0x1fffeffffffn;

test('privileged: uid 0, or CAP_SETUID in the effective set (setuid-root su, sudo)', () => {
  assert.equal(privileged({ uid: 0 }), true);
  assert.equal(privileged({ uid: 1000, capEffective: ROOT_CAPS }), true);
  assert.equal(privileged({ uid: 1000, capEffective: 1n << 7n }), true);
  // CAP_NET_RAW (13) alone, as a file capability gives ping: not a way to root.
  assert.equal(privileged({ uid: 1000, capEffective: 1n << 13n }), false);
  assert.equal(privileged({ uid: 1000, capEffective: 0n }), false);
  assert.equal(privileged({ uid: 1000 }), false);
  assert.equal(privileged({}), false);
});

test('the default table names sshd, su, sudo and login by absolute paths', () => {
  assert.deepEqual(Object.keys(DEFAULT_TRUSTED_PROGRAMS).sort(), ['login', 'sshd', 'su', 'sudo']);
  for (const paths of Object.values(DEFAULT_TRUSTED_PROGRAMS))
    for (const p of paths) assert.match(p, /^\/[\w./-]+$/);
});

test('verdicts', () => {
  const v = (service: string, s: Parameters<typeof judgeSender>[1]) =>
    judgeSender(service, s, table).provenance;
  assert.equal(v('sshd', { uid: 0, exe: '/usr/sbin/sshd' }), AuthProvenance.VERIFIED);
  assert.equal(v('sshd', { uid: 0, exe: '/usr/lib/openssh/sshd-session' }), AuthProvenance.VERIFIED);
  assert.equal(v('su', { uid: 1000, exe: '/usr/bin/su', capEffective: ROOT_CAPS }), AuthProvenance.VERIFIED);
  // The right program under the wrong name: su's binary speaking for sshd.
  assert.equal(v('sshd', { uid: 0, exe: '/usr/bin/su' }), AuthProvenance.UNVERIFIED);
  assert.equal(v('sshd', { uid: 1000, exe: '/usr/sbin/sshd', capEffective: 0n }), AuthProvenance.FORGED);
  assert.equal(v('sshd', { uid: 1000 }), AuthProvenance.FORGED);
  // sshd, sudo and login always log as root; su logs with the user's uid, so a su that had
  // exited before journald looked (no executable, no capabilities) cannot be told from a forger.
  assert.equal(v('sudo', { uid: 1000, pid: 5 }), AuthProvenance.FORGED);
  assert.equal(v('login', { uid: 1000, pid: 5 }), AuthProvenance.FORGED);
  assert.deepEqual(judgeSender('su', { uid: 1000, pid: 5 }, table), {
    provenance: AuthProvenance.UNVERIFIED,
    why: 'sent by uid 1000, pid 5, executable unknown, which had exited before journald could read its executable and capabilities',
  });
  assert.equal(v('su', { uid: 1000, exe: '/usr/bin/su', capEffective: 0n }), AuthProvenance.FORGED);
  // A PAM service no table entry names (gdm-password): unverified from root, forged from a user.
  assert.equal(
    v('gdm-password', { uid: 0, exe: '/usr/libexec/gdm-session-worker' }),
    AuthProvenance.UNVERIFIED,
  );
  assert.equal(v('gdm-password', { uid: 1000, exe: '/usr/bin/python3' }), AuthProvenance.FORGED);
  // Names that are properties of every JavaScript object are no way in.
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
    assert.equal(v(name, { uid: 0, exe: '/usr/sbin/sshd' }), AuthProvenance.UNVERIFIED, name);
  // Only the exact path, and the " (deleted)" journald shows for a binary replaced while it ran.
  assert.equal(v('sshd', { uid: 0, exe: '/usr/sbin/sshd (deleted)' }), AuthProvenance.VERIFIED);
  assert.equal(v('sshd', { uid: 0, exe: '/usr/sbin/sshd2' }), AuthProvenance.UNVERIFIED);
  assert.equal(v('sshd', { uid: 0, exe: '/tmp/usr/sbin/sshd' }), AuthProvenance.UNVERIFIED);
});
