import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeUtmpRecord, parseUtmpRecord, UtmpType } from './utmp.linux.js';
import { utmpToRecord } from './utmp-source.linux.js';

// A real btmp record that Debian 12's sshd wrote on this kind of machine for a failed password.
const SSHD_BTMP =
  'BgAAAL8fAABzc2g6bm90dHkAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABwYWx0ZXN0YQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADEyNy4wLjAu' +
  'MQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' +
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' +
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' +
  'AAAAADQlCGsAAAAAfwAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

describe('parseUtmpRecord', () => {
  it('decodes a real sshd btmp record', () => {
    const r = parseUtmpRecord(Buffer.from(SSHD_BTMP, 'base64'));
    assert.ok(r);
    assert.equal(r.type, UtmpType.LoginProcess);
    assert.equal(r.pid, 8127);
    assert.equal(r.line, 'ssh:notty');
    assert.equal(r.user, 'paltesta');
    assert.equal(r.host, '127.0.0.1');
    assert.equal(r.addr, '127.0.0.1');
    assert.equal(r.timeMs, 1795695924000);
    const rec = utmpToRecord(r, 'btmp');
    assert.deepEqual(
      {
        service: rec?.service,
        success: rec?.success,
        user: rec?.user,
        srcIp: rec?.srcIp,
        remote: rec?.remote,
      },
      { service: 'sshd', success: false, user: 'paltesta', srcIp: '127.0.0.1', remote: true },
    );
  });

  it('round-trips through encodeUtmpRecord and rejects other sizes', () => {
    const b = encodeUtmpRecord({
      type: UtmpType.UserProcess,
      pid: 42,
      line: 'tty1',
      id: 'tty1',
      user: 'root',
      timeMs: 1_700_000_000_123,
    });
    assert.deepEqual(parseUtmpRecord(b), {
      type: 7,
      pid: 42,
      line: 'tty1',
      id: 'tty1',
      user: 'root',
      host: '',
      session: 0,
      timeMs: 1_700_000_000_123,
      addr: '',
    });
    assert.equal(parseUtmpRecord(Buffer.alloc(383)), null);
    assert.equal(parseUtmpRecord(Buffer.alloc(385)), null);
  });

  it('formats IPv6 addresses and replaces control characters in attacker-typed names', () => {
    const b = encodeUtmpRecord({
      type: UtmpType.LoginProcess,
      user: 'ev\nil\u0007',
      line: 'ssh:notty',
      host: '2001:db8::7',
    });
    Buffer.from('20010db8000000000000000000000007', 'hex').copy(b, 348);
    const r = parseUtmpRecord(b);
    assert.equal(r?.addr, '2001:db8::7');
    assert.equal(r?.user, 'ev?il?');
  });

  it('maps wtmp logins, logouts and other records', () => {
    const login = parseUtmpRecord(
      encodeUtmpRecord({ type: UtmpType.UserProcess, line: 'tty2', user: 'bob' }),
    )!;
    assert.deepEqual(
      (({ service, activity, success, user, logonType, remote }) => ({
        service,
        activity,
        success,
        user,
        logonType,
        remote,
      }))(utmpToRecord(login, 'wtmp')!),
      { service: 'login', activity: 1, success: true, user: 'bob', logonType: 2, remote: false },
    );
    const logout = parseUtmpRecord(encodeUtmpRecord({ type: UtmpType.DeadProcess, line: 'tty2' }))!;
    assert.equal(utmpToRecord(logout, 'wtmp', 'bob')?.activity, 2);
    assert.equal(utmpToRecord(logout, 'wtmp', 'bob')?.user, 'bob');
    const boot = parseUtmpRecord(encodeUtmpRecord({ type: UtmpType.BootTime, line: '~', user: 'reboot' }))!;
    assert.equal(utmpToRecord(boot, 'wtmp'), null);
  });
});
