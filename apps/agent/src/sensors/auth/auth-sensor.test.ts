import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AuthProvenance, type Event, TelemetryKind, Tier, toOcsf } from '@palisade/protocol';
import { toAuthEvent } from './auth-event.js';
import { type AuthSensor, createAuthSensor } from './auth-sensor.js';
import type { AuthSource } from './auth-source.js';
import { parseAuthLine } from './parse-auth-line.js';
import { sleep, tempDir, waitFor, removeTempDir } from '@palisade/testkit';
import { encodeUtmpRecord, UtmpType } from './utmp.linux.js';

const T = '2026-11-26T12:25:24.988082+00:00 vm';
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

describe('createAuthSensor', () => {
  let tmp: ReturnType<typeof tempDir>;
  let paths: { log: string; wtmp: string; btmp: string; audit: string; state: string; sock: string };
  let sensor: AuthSensor | null;
  let events: Event[];

  beforeEach(() => {
    tmp = tempDir('palisade-auth-');
    paths = {
      log: join(tmp, 'auth.log'),
      wtmp: join(tmp, 'wtmp'),
      btmp: join(tmp, 'btmp'),
      audit: join(tmp, 'audit.log'),
      state: join(tmp, 'state'),
      sock: join(tmp, 'no-such-socket'),
    };
    events = [];
    sensor = null;
  });
  afterEach(async () => {
    await sensor?.stop();
    removeTempDir(tmp);
  });

  async function start(extra: Partial<Parameters<typeof createAuthSensor>[0]> = {}): Promise<AuthSensor> {
    sensor = createAuthSensor({
      stateDir: paths.state,
      logPaths: [paths.log],
      wtmpPath: paths.wtmp,
      btmpPath: paths.btmp,
      auditLogPath: paths.audit,
      syslogSocketPath: paths.sock,
      pollMs: 50,
      dedupWindowMs: 400,
      ...extra,
    });
    await sensor.start((e) => events.push(e));
    return sensor;
  }

  function files(): void {
    writeFileSync(paths.log, '');
    writeFileSync(paths.wtmp, '');
    writeFileSync(paths.btmp, '');
  }

  it('turns auth log lines into OCSF Authentication events and counts the rest', async () => {
    files();
    const s = await start();
    const lines = [
      `${T} sshd[8127]: Failed password for alice from 192.0.2.7 port 56202 ssh2`,
      `${T} sshd[8127]: Connection closed by authenticating user alice 192.0.2.7 port 56202 [preauth]`,
      `${T} sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u`,
      'not a syslog line at all',
    ];
    appendFileSync(paths.log, `${lines.join('\n')}\n`);
    await waitFor('condition', () => events.length === 2);
    const [ssh, sudo] = events as [Event, Event];
    assert.equal(ssh.rawData, lines[0]);
    const o = toOcsf(ssh, DEVICE, 'e1');
    assert.equal(o.class_uid, 3002);
    assert.equal(o.activity_id, 1);
    assert.equal(o.status_id, 2);
    assert.deepEqual(o.user, { name: 'alice' });
    assert.deepEqual(o.src_endpoint, { ip: '192.0.2.7', port: 56202 });
    assert.equal(o.auth_protocol, 'password');
    assert.deepEqual(o.service, { name: 'sshd' });
    assert.equal(o.is_remote, true);
    assert.equal(o.time, Date.UTC(2026, 10, 26, 12, 25, 24, 988));
    assert.deepEqual((o.actor as { process: { pid: number } }).process.pid, 8127);
    const u = toOcsf(sudo, DEVICE, 'e2');
    assert.equal(u.activity_id, 7);
    assert.equal(u.status_id, 1);
    assert.deepEqual(u.user, { name: 'root' });
    assert.deepEqual((u.actor as { user: unknown }).user, { name: 'alice' });
    assert.equal((u.unmapped as { command: string }).command, '/usr/bin/id -u');
    const st = s.stats().sources.find((x) => x.name === 'auth.log');
    assert.deepEqual(
      { read: st?.read, events: st?.events, ignored: st?.ignored },
      { read: 4, events: 2, ignored: 2 },
    );
    assert.equal(s.counters().eventsEmitted, 2);
    const [cap] = s.capabilities();
    assert.equal(cap?.kind, TelemetryKind.AUTH);
    assert.equal(cap?.active, true);
    assert.equal(cap?.source, 'auth.log,wtmp,btmp');
    assert.match(cap?.reason ?? '', /no syslog socket/);
  });

  it('drops a btmp record that a log line reported, keeps one that no line reported', async () => {
    files();
    const s = await start();
    appendFileSync(
      paths.btmp,
      encodeUtmpRecord({
        type: UtmpType.LoginProcess,
        pid: 9,
        line: 'ssh:notty',
        user: 'alice',
        host: '192.0.2.7',
        addr: '192.0.2.7',
        timeMs: Date.now(),
      }),
    );
    appendFileSync(paths.log, `${T} sshd[9]: Failed password for alice from 192.0.2.7 port 1 ssh2\n`);
    appendFileSync(
      paths.btmp,
      encodeUtmpRecord({
        type: UtmpType.LoginProcess,
        pid: 10,
        line: 'tty3',
        user: 'mallory',
        timeMs: Date.now(),
      }),
    );
    await waitFor('log event and the undeduplicated btmp event', () => events.length === 2, 3000);
    await sleep(600);
    assert.equal(events.length, 2);
    assert.equal(events[0]?.rawData.includes('Failed password'), true);
    assert.equal(events[1]?.user?.name, 'mallory');
    assert.equal(events[1]?.statusId, 2);
    assert.equal(events[1]?.serviceName, 'login');
    assert.match(events[1]?.rawData ?? '', /^btmp: .*user=mallory/);
    assert.equal(s.stats().deduplicated, 1);
  });

  it('reports wtmp logins and names the user of a logout', async () => {
    files();
    const s = await start({ logPaths: [] });
    const [cap] = s.capabilities();
    assert.equal(cap?.source, 'wtmp,btmp');
    assert.match(cap?.reason ?? '', /only wtmp\/btmp logins, no su\/sudo; no syslog socket/);
    appendFileSync(
      paths.wtmp,
      encodeUtmpRecord({
        type: UtmpType.UserProcess,
        pid: 5,
        line: 'tty1',
        user: 'root',
        timeMs: 1_800_000_000_000,
      }),
    );
    appendFileSync(
      paths.wtmp,
      encodeUtmpRecord({ type: UtmpType.DeadProcess, pid: 5, line: 'tty1', timeMs: 1_800_000_060_000 }),
    );
    // Half a record: not handed out until the rest arrives.
    const next = encodeUtmpRecord({
      type: UtmpType.UserProcess,
      pid: 6,
      line: 'pts/4',
      user: 'bob',
      host: '198.51.100.1',
      addr: '198.51.100.1',
    });
    appendFileSync(paths.wtmp, next.subarray(0, 100));
    await waitFor('condition', () => events.length === 2);
    assert.deepEqual(
      events.map((e) => [e.activityId, e.statusId, e.user?.name, e.serviceName, Number(e.timeMs)]),
      [
        [1, 1, 'root', 'login', 1_800_000_000_000],
        [2, 0, 'root', 'login', 1_800_000_060_000],
      ],
    );
    appendFileSync(paths.wtmp, next.subarray(100));
    await waitFor('condition', () => events.length === 3);
    assert.equal(events[2]?.srcEndpoint?.ip, '198.51.100.1');
    assert.equal(events[2]?.serviceName, 'sshd');
  });

  it('starts without any source, says why, and picks up an auth log that appears later', async () => {
    const s = await start();
    const [cap] = s.capabilities();
    assert.equal(cap?.active, false);
    assert.match(cap?.reason ?? '', /auth\.log: .*does not exist/);
    assert.match(cap?.reason ?? '', /btmp: .*does not exist/);
    writeFileSync(
      paths.log,
      `${T} sshd[1]: Accepted publickey for bob from 192.0.2.9 port 22 ssh2: ED25519 SHA256:x\n`,
    );
    await waitFor('condition', () => events.length === 1);
    assert.equal(events[0]?.authProtocol, 'publickey');
    assert.equal(s.capabilities()[0]?.active, true);
    assert.match(s.capabilities()[0]?.reason ?? '', /no syslog socket/);
  });

  it('reports an unusable state directory instead of throwing', async () => {
    writeFileSync(join(tmp, 'plainfile'), '');
    paths.state = join(tmp, 'plainfile', 'sub');
    const s = await start();
    const [cap] = s.capabilities();
    assert.equal(cap?.active, false);
    assert.match(cap?.reason ?? '', /cannot use state directory/);
  });

  it('counts events the sink refuses as drops and keeps going', async () => {
    files();
    sensor = createAuthSensor({
      stateDir: paths.state,
      logPaths: [paths.log],
      wtmpPath: null,
      btmpPath: null,
      pollMs: 50,
    });
    let calls = 0;
    await sensor.start((e) => {
      calls++;
      if (calls === 1) throw new Error('spool full');
      events.push(e);
    });
    appendFileSync(
      paths.log,
      `${T} su[1]: FAILED SU (to root) a on pts/0\n${T} su[2]: (to root) a on pts/0\n`,
    );
    await waitFor('condition', () => events.length === 1);
    assert.equal(events[0]?.statusId, 1);
    assert.deepEqual(sensor.counters(), { eventsEmitted: 1, drops: 1, restarts: 0 });
    sensor.setTier(Tier.SERVER);
    appendFileSync(paths.log, `${T} su[3]: (to root) b on pts/1\n`);
    await waitFor('condition', () => events.length === 2);
  });

  it('runs a plugged-in source (e.g. a future journald reader) beside the built-in ones', async () => {
    files();
    let emitFn: ((e: Event) => void) | null = null;
    let stopped = false;
    const journald: AuthSource = {
      name: 'journald',
      origin: 'log',
      start: (emit) => {
        emitFn = emit;
      },
      stop: () => {
        stopped = true;
      },
      status: () => ({ active: true, reason: '' }),
      stats: () => ({ read: 1, events: 1, ignored: 0, truncated: 0, forged: 0 }),
    };
    const s = await start({ logPaths: [], wtmpPath: null, btmpPath: null, sources: [journald] });
    assert.equal(s.capabilities()[0]?.source, 'journald');
    assert.ok(emitFn);
    const parsed = parseAuthLine(`${T} su[4]: (to root) dave on pts/2`, Date.now())!;
    (emitFn as (e: Event) => void)(
      toAuthEvent(parsed.record, {
        timeMs: 1,
        pid: 4,
        program: 'su',
        raw: 'x',
        provenance: AuthProvenance.UNVERIFIED,
      }),
    );
    assert.equal(events[0]?.actorUser?.name, 'dave');
    await s.stop();
    sensor = null;
    assert.equal(stopped, true);
  });

  it('uses auditd PAM records only while no auth log is followed', async () => {
    const authLine = `type=USER_AUTH msg=audit(1795695908.241:456): pid=7945 uid=1001 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct="bob" exe="/usr/bin/su" hostname=? addr=? terminal=/dev/pts/0 res=failed'`;
    writeFileSync(paths.audit, '');
    writeFileSync(paths.btmp, '');
    const s = await start({ wtmpPath: null });
    assert.equal(s.capabilities()[0]?.source, 'btmp,audit');
    assert.match(s.capabilities()[0]?.reason ?? '', /using auditd PAM records/);
    appendFileSync(paths.audit, `${authLine}\n`);
    appendFileSync(
      paths.btmp,
      encodeUtmpRecord({ type: UtmpType.LoginProcess, line: 'pts/0', user: 'bob', timeMs: Date.now() }),
    );
    await waitFor('condition', () => events.length === 1);
    await sleep(600);
    assert.equal(events.length, 1, 'the btmp record is a duplicate of the audit record');
    assert.equal(events[0]?.rawData, authLine);
    assert.equal(events[0]?.serviceName, 'su');
    assert.equal(s.stats().deduplicated, 1);
    // Once an auth log exists, it is the source and audit records are not used.
    writeFileSync(paths.log, '');
    await waitFor('condition', () => s.capabilities()[0]?.source === 'auth.log,btmp');
    appendFileSync(paths.audit, `${authLine}\n`);
    await waitFor('condition', () => s.stats().auditSuppressed === 1);
    assert.equal(events.length, 1);
  });

  it('resumes after a restart without losing or repeating lines', async () => {
    files();
    await start({ wtmpPath: null, btmpPath: null });
    appendFileSync(paths.log, `${T} su[1]: (to root) a on pts/0\n`);
    await waitFor('condition', () => events.length === 1);
    await sensor?.stop();
    appendFileSync(paths.log, `${T} su[2]: (to root) b on pts/0\n`);
    await start({ wtmpPath: null, btmpPath: null });
    appendFileSync(paths.log, `${T} su[3]: (to root) c on pts/0\n`);
    await waitFor('condition', () => events.length === 3);
    await sleep(150);
    assert.deepEqual(
      events.map((e) => e.actorUser?.name),
      ['a', 'b', 'c'],
    );
  });
});
