import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthProvenance, EventSchema, toBinary } from '@palisade/protocol';
import { toAuthEvent } from './auth-event.js';
import type { AuthRecord } from './auth-record.js';
import { parseAuthLine } from './parse-auth-line.js';

const NOW = new Date(2026, 10, 26, 13, 0, 0).getTime();

interface Case {
  line: string;
  want: Partial<AuthRecord> | null;
}

// Lines as Debian 12's rsyslog writes them (RFC 3339, its default) and in the classic format
// (RSYSLOG_TraditionalFileFormat), from sshd 9.2, util-linux su, sudo 1.9 and shadow login.
const CASES: Case[] = [
  {
    line: '2026-11-26T12:25:25.422304+00:00 vm sshd[8147]: Accepted password for alice from 127.0.0.1 port 53324 ssh2',
    want: {
      service: 'sshd',
      activity: 1,
      success: true,
      user: 'alice',
      srcIp: '127.0.0.1',
      srcPort: 53324,
      method: 'password',
      remote: true,
      logonType: 10,
    },
  },
  {
    line: 'Nov 26 12:25:25 vm sshd[8147]: Accepted publickey for bob from 2001:db8::7 port 40022 ssh2: ED25519 SHA256:3q2+7w7A',
    want: {
      service: 'sshd',
      success: true,
      user: 'bob',
      srcIp: '2001:db8::7',
      srcPort: 40022,
      method: 'publickey',
      detail: 'ED25519 SHA256:3q2+7w7A',
    },
  },
  {
    line: '2026-11-26T12:25:25+00:00 vm sshd[9]: Accepted keyboard-interactive/pam for carol from 10.0.0.9 port 1022 ssh2',
    want: { user: 'carol', method: 'keyboard-interactive', success: true },
  },
  {
    line: '2026-11-26T12:25:24.988082+00:00 vm sshd[8127]: Failed password for alice from 127.0.0.1 port 56202 ssh2',
    want: {
      service: 'sshd',
      activity: 1,
      success: false,
      user: 'alice',
      srcIp: '127.0.0.1',
      srcPort: 56202,
      method: 'password',
      detail: 'failed password',
    },
  },
  {
    line: 'Nov  6 01:02:03 vm sshd[8158]: Failed password for invalid user nosuchuser from 203.0.113.5 port 53326 ssh2',
    want: {
      success: false,
      user: 'nosuchuser',
      srcIp: '203.0.113.5',
      detail: 'invalid user',
      method: 'password',
    },
  },
  {
    line: '2026-11-26T12:25:30+00:00 vm sshd[8160]: message repeated 2 times: [ Failed password for root from 203.0.113.5 port 4000 ssh2]',
    want: {
      success: false,
      user: 'root',
      srcIp: '203.0.113.5',
      srcPort: 4000,
      detail: 'failed password; message repeated 2 times',
    },
  },
  {
    line: '2026-11-26T12:25:25.687094+00:00 vm sshd[8158]: Invalid user nosuchuser from 127.0.0.1 port 53326',
    want: { success: false, user: 'nosuchuser', srcIp: '127.0.0.1', srcPort: 53326, detail: 'invalid user' },
  },
  {
    // An attacker-chosen user name that imitates the suffix: the real address is the last one.
    line: '2026-11-26T12:25:25+00:00 vm sshd[1]: Failed password for invalid user x from 1.1.1.1 port 1 from 198.51.100.2 port 4242 ssh2',
    want: { user: 'x from 1.1.1.1 port 1', srcIp: '198.51.100.2', srcPort: 4242 },
  },
  {
    line: '2026-11-26T12:25:30+00:00 vm sshd[77]: error: maximum authentication attempts exceeded for root from 192.0.2.1 port 5555 ssh2 [preauth]',
    want: {
      success: false,
      user: 'root',
      srcIp: '192.0.2.1',
      detail: 'maximum authentication attempts exceeded',
    },
  },
  {
    line: '2026-11-26T12:25:22.942199+00:00 vm sshd[8127]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.1  user=alice',
    want: {
      service: 'sshd',
      activity: 1,
      success: false,
      user: 'alice',
      srcIp: '127.0.0.1',
      remote: true,
      method: 'password',
      detail: 'pam_unix: authentication failure',
      logonType: 10,
    },
  },
  {
    line: '2026-11-26T12:25:10.031125+00:00 vm su[7945]: FAILED SU (to root) alice on pts/0',
    want: {
      service: 'su',
      activity: 7,
      success: false,
      user: 'root',
      actorUser: 'alice',
      tty: 'pts/0',
      remote: false,
    },
  },
  {
    line: 'Nov 26 12:25:11 vm su[7967]: (to root) alice on pts/0',
    want: { service: 'su', activity: 7, success: true, user: 'root', actorUser: 'alice', tty: 'pts/0' },
  },
  {
    line: '2026-11-26T12:25:11+00:00 vm su[1]: (to postgres) root on none',
    want: { service: 'su', success: true, user: 'postgres', actorUser: 'root', tty: undefined },
  },
  {
    line: 'Nov 26 12:25:11 vm su[2]: FAILED su for root by alice',
    want: { service: 'su', activity: 7, success: false, user: 'root', actorUser: 'alice' },
  },
  {
    line: 'Nov 26 12:25:11 vm su[2]: Successful su for root by alice',
    want: { service: 'su', success: true, user: 'root', actorUser: 'alice' },
  },
  {
    line: '2026-11-26T12:25:08.241989+00:00 vm su: pam_unix(su:auth): authentication failure; logname= uid=1001 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root',
    want: {
      service: 'su',
      activity: 7,
      success: false,
      user: 'root',
      actorUser: 'alice',
      actorUid: '1001',
      tty: 'pts/0',
      remote: false,
      srcIp: undefined,
    },
  },
  {
    line: '2026-11-26T12:25:08+00:00 vm su: pam_unix(su-l:auth): authentication failure; logname=alice uid=1001 euid=0 tty=pts/1 ruser=alice rhost=  user=root',
    want: { service: 'su', activity: 7, user: 'root' },
  },
  {
    line: '2026-11-26T12:25:17.391239+00:00 vm sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u',
    want: {
      service: 'sudo',
      activity: 7,
      success: true,
      user: 'root',
      actorUser: 'alice',
      tty: 'pts/0',
      command: '/usr/bin/id -u',
      detail: undefined,
    },
  },
  {
    line: 'Nov 26 12:25:17 vm sudo:    alice : TTY=pts/0 ; PWD=/ ; USER=postgres ; COMMAND=/bin/sh -c echo a ; echo b',
    want: { success: true, user: 'postgres', actorUser: 'alice', command: '/bin/sh -c echo a ; echo b' },
  },
  {
    line: '2026-11-26T12:25:16.975106+00:00 vm sudo: alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/true',
    want: {
      service: 'sudo',
      success: false,
      user: 'root',
      actorUser: 'alice',
      detail: '3 incorrect password attempts',
      method: 'password',
      command: '/usr/bin/true',
    },
  },
  {
    line: '2026-11-26T12:25:17.709243+00:00 vm sudo: bob : user NOT in sudoers ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/id -u',
    want: {
      success: false,
      user: 'root',
      actorUser: 'bob',
      detail: 'user NOT in sudoers',
      method: undefined,
    },
  },
  {
    line: '2026-11-26T12:25:15.029461+00:00 vm sudo: pam_unix(sudo:auth): authentication failure; logname= uid=1001 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice',
    want: { service: 'sudo', activity: 7, success: false, user: 'alice', actorUser: 'alice' },
  },
  {
    line: "Nov 26 12:30:00 vm login[600]: ROOT LOGIN  on 'tty1'",
    want: {
      service: 'login',
      activity: 1,
      success: true,
      user: 'root',
      tty: 'tty1',
      remote: false,
      logonType: 2,
    },
  },
  {
    line: "2026-11-26T12:30:00+00:00 vm login[600]: FAILED LOGIN (1) on '/dev/tty1' FOR 'bob', Authentication failure",
    want: {
      service: 'login',
      success: false,
      user: 'bob',
      tty: 'tty1',
      detail: 'Authentication failure',
      logonType: 2,
    },
  },
  {
    line: "2026-11-26T12:30:00+00:00 vm login[600]: FAILED LOGIN (2) on '/dev/pts/3' from 'host.example' FOR 'UNKNOWN', User not known to the underlying authentication module",
    want: { success: false, user: 'UNKNOWN', srcIp: 'host.example', remote: true },
  },
  {
    line: '2026-11-26T12:30:00+00:00 vm login[600]: pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=bob',
    want: {
      service: 'login',
      activity: 1,
      success: false,
      user: 'bob',
      actorUser: undefined,
      tty: 'tty1',
      remote: false,
      logonType: 2,
    },
  },
  {
    line: '2026-11-26T12:30:00+00:00 vm login[600]: pam_unix(login:session): session opened for user bob(uid=1000) by LOGIN(uid=0)',
    want: { service: 'login', activity: 1, success: true, user: 'bob', logonType: 2 },
  },
  // Lines that carry no authentication outcome, or are not syslog lines at all.
  {
    line: '2026-11-26T12:25:11+00:00 vm su[7967]: pam_unix(su:session): session opened for user root(uid=0) by (uid=1001)',
    want: null,
  },
  { line: '2026-11-26T12:25:22+00:00 vm sshd[8123]: Server listening on 127.0.0.1 port 22822.', want: null },
  {
    line: '2026-11-26T12:25:25+00:00 vm sshd[8153]: Disconnected from user alice 127.0.0.1 port 53324',
    want: null,
  },
  {
    line: '2026-11-26T12:25:25+00:00 vm CRON[4]: pam_unix(cron:session): session closed for user root',
    want: null,
  },
  { line: 'Nov 26 12:25:25 vm sudo: this is not a sudo record', want: null },
  { line: '', want: null },
  { line: 'garbage \u0000\u00ff without structure', want: null },
  { line: 'Foo 26 12:25:25 vm sshd[1]: Accepted password for a from 1.2.3.4 port 1 ssh2', want: null },
];

describe('parseAuthLine', () => {
  for (const c of CASES) {
    it(c.line.slice(0, 100) || '(empty line)', () => {
      const got = parseAuthLine(c.line, NOW);
      if (c.want === null) {
        assert.equal(got, null);
        return;
      }
      assert.ok(got, 'line should be recognised');
      for (const [k, v] of Object.entries(c.want)) {
        assert.deepEqual(got.record[k as keyof AuthRecord], v, `field ${k}`);
      }
    });
  }

  it('reads RFC 3339 timestamps with zone and microseconds', () => {
    const got = parseAuthLine(
      '2026-11-26T12:25:25.422304+01:00 vm sshd[8147]: Invalid user x from 1.2.3.4',
      NOW,
    );
    assert.equal(got?.envelope.timeMs, Date.UTC(2026, 10, 26, 11, 25, 25, 422));
    assert.equal(got?.envelope.pid, 8147);
    assert.equal(got?.envelope.host, 'vm');
  });

  it('reads classic timestamps as local time, in last year when they would be in the future', () => {
    const dec = parseAuthLine(
      'Dec 31 23:59:59 vm sshd[2]: Invalid user x from 1.2.3.4',
      new Date(2027, 0, 1, 0, 0, 5).getTime(),
    );
    assert.equal(dec?.envelope.timeMs, new Date(2026, 11, 31, 23, 59, 59).getTime());
    const nov = parseAuthLine('Nov  6 01:02:03 vm sudo: a : TTY=pts/0 ; USER=root ; COMMAND=/bin/true', NOW);
    assert.equal(nov?.envelope.timeMs, new Date(2026, 10, 6, 1, 2, 3).getTime());
    assert.equal(nov?.envelope.pid, 0);
  });

  it('never throws on arbitrary input', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const pieces = [
      'sshd[1]: ',
      'su: ',
      'sudo: ',
      ' : ',
      ' ; ',
      'COMMAND=',
      'USER=',
      'Accepted ',
      ' from ',
      ' port ',
      '(to ',
      ') ',
      "'",
      'pam_unix(',
      ':auth): authentication failure; ',
      '=',
      '\u0000',
      'Nov 26 12:00:00 h ',
      '2026-11-26T12:00:00Z h ',
      'sshd[99999999999]: ',
      ' port 99999999999 ',
      'Failed password for x from 1.2.3.4 port 70000 ssh2',
    ];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = rnd() % 12;
      for (let j = 0; j < n; j++) s += pieces[rnd() % pieces.length];
      assert.doesNotThrow(() => {
        const p = parseAuthLine(s, NOW);
        // Whatever parses must also encode: numbers from the line are range-checked.
        if (p) {
          const e = toAuthEvent(p.record, {
            timeMs: p.envelope.timeMs,
            pid: p.envelope.pid,
            program: 'x',
            raw: s,
            provenance: AuthProvenance.UNVERIFIED,
          });
          toBinary(EventSchema, e);
        }
      }, s);
    }
  });
});
