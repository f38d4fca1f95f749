import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventSchema, fromBinary, toBinary, toOcsf } from '@palisade/protocol';
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
  });

  it('keeps hostile numbers off the wire so the event always encodes', () => {
    const line =
      '2026-11-26T12:25:24+00:00 vm sshd[9999999999]: Accepted password for a from 192.0.2.1 port 99999999999 ssh2';
    const p = parseAuthLine(line, Date.now())!;
    const e = toAuthEvent(p.record, { timeMs: Number.NaN, pid: p.envelope.pid, program: 'sshd', raw: line });
    const back = fromBinary(EventSchema, toBinary(EventSchema, e));
    assert.equal(back.process?.pid, 0);
    assert.equal(back.srcEndpoint?.port, 0);
    assert.equal(back.srcEndpoint?.ip, '192.0.2.1');
    assert.ok(Number(back.timeMs) > 0);
    const neg = toAuthEvent(p.record, { timeMs: 1.5, pid: -4, program: 'x', raw: '' });
    assert.equal(fromBinary(EventSchema, toBinary(EventSchema, neg)).process?.pid, 0);
  });
});
