import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthRecord } from '../auth-record.js';
import { parseAuditLine } from './audit.js';

const GS = '\x1d';

// Records as auditd 3.0 (Debian 12) writes them in its default ENRICHED format.
const CASES: Array<{ line: string; want: (Partial<AuthRecord> & { pid?: number; timeMs?: number }) | null }> =
  [
    {
      line: `type=USER_AUTH msg=audit(1795695908.241:456): pid=7945 uid=1001 auid=4294967295 ses=4294967295 subj=unconfined msg='op=PAM:authentication grantors=? acct="bob" exe="/usr/bin/su" hostname=? addr=? terminal=/dev/pts/0 res=failed'${GS}UID="alice" AUID="unset"`,
      want: {
        service: 'su',
        activity: 7,
        success: false,
        user: 'bob',
        actorUser: 'alice',
        actorUid: '1001',
        tty: 'pts/0',
        remote: false,
        method: 'password',
        pid: 7945,
        timeMs: 1795695908241,
      },
    },
    {
      line: `type=USER_AUTH msg=audit(1795695922.942:460): pid=8127 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='op=PAM:authentication grantors=pam_permit acct="alice" exe="/usr/sbin/sshd" hostname=127.0.0.1 addr=127.0.0.1 terminal=ssh res=success'${GS}UID="root" AUID="unset"`,
      want: {
        service: 'sshd',
        activity: 1,
        success: true,
        user: 'alice',
        srcIp: '127.0.0.1',
        remote: true,
        tty: undefined,
        logonType: 10,
      },
    },
    {
      line: `type=USER_LOGIN msg=audit(1795695925.430:470): pid=8147 uid=0 auid=1001 ses=5 subj=unconfined msg='op=login id=1001 exe="/usr/sbin/sshd" hostname=127.0.0.1 addr=127.0.0.1 terminal=/dev/pts/1 res=success'${GS}UID="root" AUID="alice" ID="alice"`,
      want: {
        service: 'sshd',
        activity: 1,
        success: true,
        user: 'alice',
        srcIp: '127.0.0.1',
        tty: 'pts/1',
        method: undefined,
      },
    },
    {
      // An invalid user name is hex-encoded by audit because it contains a space.
      line: `type=USER_LOGIN msg=audit(1795695927.482:480): pid=8158 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='op=login acct=28696E76616C6964207573657229 exe="/usr/sbin/sshd" hostname=? addr=203.0.113.5 terminal=sshd res=failed'${GS}UID="root" AUID="unset"`,
      want: {
        service: 'sshd',
        success: false,
        user: '(invalid user)',
        srcIp: '203.0.113.5',
        detail: 'user_login failed (audit)',
      },
    },
    {
      line: `type=USER_CMD msg=audit(1795695917.391:490): pid=8200 uid=1001 auid=4294967295 ses=4294967295 subj=unconfined msg='cwd="/" cmd=2F7573722F62696E2F6964202D75 exe="/usr/bin/sudo" terminal=pts/0 res=success'${GS}UID="alice" AUID="unset"`,
      want: {
        service: 'sudo',
        activity: 7,
        success: true,
        user: '',
        actorUser: 'alice',
        actorUid: '1001',
        command: '/usr/bin/id -u',
        tty: 'pts/0',
      },
    },
    {
      // RAW log format: no enrichment, so only the numeric uid is known.
      line: `type=USER_AUTH msg=audit(1795695915.029:500): pid=8190 uid=1001 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct="alice" exe="/usr/bin/sudo" hostname=? addr=? terminal=/dev/pts/0 res=failed'`,
      want: { service: 'sudo', success: false, user: 'alice', actorUser: undefined, actorUid: '1001' },
    },
    {
      line: `type=USER_ACCT msg=audit(1795695925.420:468): pid=8147 uid=0 msg='op=PAM:accounting acct="alice" exe="/usr/sbin/sshd" res=success'`,
      want: null,
    },
    { line: 'type=SYSCALL msg=audit(1795695925.420:469): arch=c000003e syscall=59 success=yes', want: null },
    { line: 'type=USER_AUTH msg=audit(garbage', want: null },
    { line: 'type=USER_AUTH msg=audit(1795695925.420:469): pid=1 uid=0 no inner message', want: null },
  ];

describe('parseAuditLine', () => {
  for (const c of CASES) {
    it(c.line.slice(0, 90), () => {
      const got = parseAuditLine(c.line);
      if (c.want === null) {
        assert.equal(got, null);
        return;
      }
      assert.ok(got);
      const { pid, timeMs, ...rec } = c.want;
      if (pid !== undefined) assert.equal(got.pid, pid);
      if (timeMs !== undefined) assert.equal(got.timeMs, timeMs);
      for (const [k, v] of Object.entries(rec))
        assert.deepEqual(got.record[k as keyof AuthRecord], v, `field ${k}`);
    });
  }
});
