import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthProvenance, EventSchema, fromBinary, toBinary, toOcsf } from '@palisade/protocol';
import { toAuthEvent } from './auth-event.js';
import { parseAuthLine } from './parse-auth-line.js';

const DEVICE = {
  agentId: 'a1',
  hostname: 'vm',
  os: 'linux',
  osVersion: 'Debian 12',
  kernel: '6.18',
  arch: 'x86_64',
  machineId: '',
  agentVersion: '0.1.0',
};

describe('toAuthEvent', () => {
  it('renders an sshd failure as OCSF Authentication with every field', () => {
    const line =
      '2026-11-26T12:25:24.988+00:00 vm sshd[8127]: Failed password for invalid user admin from 203.0.113.5 port 56202 ssh2';
    const p = parseAuthLine(line, Date.now())!;
    const e = toAuthEvent(p.record, {
      timeMs: p.envelope.timeMs,
      pid: p.envelope.pid,
      program: 'sshd',
      raw: line,
      provenance: AuthProvenance.UNVERIFIED,
    });
    const back = fromBinary(EventSchema, toBinary(EventSchema, e));
    const o = toOcsf(back, DEVICE, 'u1');
    assert.equal(o.type_uid, 300201);
    assert.equal(o.status, 'Failure');
    assert.equal(o.status_detail, 'invalid user');
    assert.equal(o.raw_data, line);
    assert.equal(o.logon_type_id, 10);
    assert.equal(o.message, 'sshd logon failed: admin from 203.0.113.5');
    assert.deepEqual((o.actor as { process: unknown }).process, { pid: 8127, name: 'sshd' });
    assert.deepEqual(o.unmapped, { provenance: 'unverified' });
  });

  it('keeps hostile numbers off the wire so the event always encodes', () => {
    const line =
      '2026-11-26T12:25:24+00:00 vm sshd[9999999999]: Accepted password for a from 192.0.2.1 port 99999999999 ssh2';
    const p = parseAuthLine(line, Date.now())!;
    const e = toAuthEvent(p.record, {
      timeMs: Number.NaN,
      pid: p.envelope.pid,
      program: 'sshd',
      raw: line,
      provenance: AuthProvenance.UNVERIFIED,
    });
    const back = fromBinary(EventSchema, toBinary(EventSchema, e));
    assert.equal(back.process?.pid, 0);
    assert.equal(back.srcEndpoint?.port, 0);
    assert.equal(back.srcEndpoint?.ip, '192.0.2.1');
    assert.ok(Number(back.timeMs) > 0);
    const neg = toAuthEvent(p.record, {
      timeMs: 1.5,
      pid: -4,
      program: 'x',
      raw: '',
      provenance: AuthProvenance.UNVERIFIED,
    });
    assert.equal(fromBinary(EventSchema, toBinary(EventSchema, neg)).process?.pid, 0);
  });

  it('a forged record cannot pass for the login it claims: status Other, severity Medium, the real sender as actor', () => {
    const line =
      '2026-11-26T12:25:24.988+00:00 vm sshd[4242]: Accepted password for root from 203.0.113.9 port 22 ssh2';
    const p = parseAuthLine(line, Date.now())!;
    const e = toAuthEvent(p.record, {
      timeMs: p.envelope.timeMs,
      pid: 5151,
      program: 'logger',
      raw: line,
      provenance: AuthProvenance.FORGED,
      provenanceWhy: 'sent by uid 1000, pid 5151, /usr/bin/logger: an unprivileged process, not sshd',
      path: '/usr/bin/logger',
      sender: { uid: 1000, name: 'mallory' },
    });
    const o = toOcsf(fromBinary(EventSchema, toBinary(EventSchema, e)), DEVICE, 'u1');
    assert.equal(o.status_id, 99);
    assert.equal(o.status, 'Other');
    assert.equal(o.severity_id, 3);
    assert.equal(
      o.status_detail,
      'forged: claims success; sent by uid 1000, pid 5151, /usr/bin/logger: an unprivileged process, not sshd',
    );
    assert.equal(o.message, 'forged sshd record: sshd logon succeeded: root from 203.0.113.9');
    assert.deepEqual(o.actor, {
      process: {
        pid: 5151,
        name: 'logger',
        path: '/usr/bin/logger',
        file: { path: '/usr/bin/logger', name: 'logger', type_id: 1 },
      },
      user: { uid: '1000', name: 'mallory' },
    });
    assert.deepEqual(o.user, { name: 'root' });
    assert.deepEqual(o.unmapped, { provenance: 'forged' });
    assert.equal(o.raw_data, line);
  });

  it('a verified journal record carries the executable; an unverified one says why in status_detail', () => {
    const line =
      '2026-11-26T12:25:24.988+00:00 vm sshd[812]: Accepted password for alice from 192.0.2.7 port 5 ssh2';
    const p = parseAuthLine(line, Date.now())!;
    const base = { timeMs: 1, pid: 812, program: 'sshd', raw: line, path: '/usr/sbin/sshd' };
    const v = toAuthEvent(p.record, { ...base, provenance: AuthProvenance.VERIFIED });
    assert.equal(v.statusId, 1);
    assert.equal(v.statusDetail, '');
    assert.equal(v.process?.path, '/usr/sbin/sshd');
    assert.equal(v.authProvenance, AuthProvenance.VERIFIED);
    const u = toAuthEvent(p.record, {
      ...base,
      path: '/opt/sshd',
      provenance: AuthProvenance.UNVERIFIED,
      provenanceWhy: 'sent by uid 0, pid 812, /opt/sshd, which is not a trusted sshd executable',
    });
    assert.equal(u.statusId, 1);
    assert.equal(
      u.statusDetail,
      'unverified: sent by uid 0, pid 812, /opt/sshd, which is not a trusted sshd executable',
    );
  });
});
