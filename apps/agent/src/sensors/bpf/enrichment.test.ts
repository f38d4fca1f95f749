import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseDnsQuestion } from './dns.js';
import { PathFilter } from './paths.js';
import type { ProcSnapshot } from './proc-reader.linux.js';
import { cmdLineOf, ProcessCache } from './process-cache.js';
import type { ExecRecord, RecordHeader } from './records.js';
import { UserNames } from './users.js';

function header(pid: number, startNs: number, ppid = 1): RecordHeader {
  return {
    kind: 7,
    tsNs: startNs,
    startNs,
    pid,
    tid: pid,
    ppid,
    uid: 1000,
    gid: 1000,
    flags: 0,
    comm: `c${pid}`,
  };
}

function exec(pid: number, startNs: number, ppid: number, argv: string[]): ExecRecord {
  return {
    ...header(pid, startNs, ppid),
    kind: 1,
    euid: 0,
    egid: 0,
    auid: 1000,
    sessionId: 3,
    cgroupId: 1n,
    argv,
    argvTruncated: false,
    exe: `/usr/bin/${argv[0]}`,
    cwd: '/',
    tty: '',
    exeNoFile: false,
    exeDeleted: false,
    exeIno: 0,
    exeDev: 0,
    exeSize: 0,
    exeMtimeSec: 0,
    exeMtimeNsec: 0,
    pidNs: 0,
    mntNs: 0,
    netNs: 0,
    cgroupPath: '/',
  };
}

function cache(procs: Record<number, ProcSnapshot> = {}, maxEntries = 4) {
  return new ProcessCache({
    maxEntries,
    bootId: 'boot-1',
    bootWallMs: () => 1_000_000,
    readProc: (p) => procs[p] ?? null,
  });
}

describe('ProcessCache', () => {
  test('a reused pid (new start time) gets a new unique id; the same process keeps its id', () => {
    const c = cache();
    const a = c.fromExec(exec(100, 5e9, 1, ['sh']));
    const again = c.lookup(header(100, 5e9));
    assert.equal(again.uniqueId, a.uniqueId);
    const reused = c.fromExec(exec(100, 9e9, 1, ['sh']));
    assert.notEqual(reused.uniqueId, a.uniqueId);
    assert.equal(a.createdTimeMs, 1_000_000 + 5000);
  });

  test('ids agree with /proc start times (clock ticks) so pre-existing processes match', () => {
    const c = cache({
      7: { pid: 7, ppid: 1, startTicks: 123, comm: 'd', exe: '/d', cwd: '/', argv: ['d'], uid: 0 },
    });
    const seen = c.lookup(header(7, 123 * 1e7 + 4e6));
    assert.equal(seen.path, '/d');
    assert.equal(seen.uniqueId, c.uniqueId(7, 123));
  });

  test('parents are linked; a vanished forked child inherits its parent image', () => {
    const c = cache();
    const parent = c.fromExec(exec(10, 1e9, 1, ['bash', '-l']));
    const child = c.fromExec(exec(11, 2e9, 10, ['ls']));
    assert.equal(child.parentUniqueId, parent.uniqueId);
    assert.equal(c.parentOf(child)?.cmdLine, 'bash -l');
    const forked = c.lookup(header(12, 3e9, 10));
    assert.equal(forked.path, '/usr/bin/bash');
    assert.equal(forked.parentUniqueId, parent.uniqueId);
  });

  test('seeding from /proc links parents and respects the cap', () => {
    const snap = (pid: number, ppid: number): ProcSnapshot => ({
      pid,
      ppid,
      startTicks: pid,
      comm: `p${pid}`,
      exe: `/bin/p${pid}`,
      cwd: '/',
      argv: [`p${pid}`],
      uid: 0,
    });
    const c = cache({}, 3);
    c.seed([snap(30, 20), snap(20, 10), snap(10, 1), snap(40, 1)]);
    assert.equal(c.size, 3);
    const child = c.lookup(header(30, 30 * 1e7, 20));
    assert.equal(child.path, '/bin/p30');
    assert.equal(c.parentOf(child)?.path, '/bin/p20');
  });

  test('the cache is bounded: least recently used entries go first', () => {
    const c = cache({}, 3);
    for (let pid = 1; pid <= 10; pid++) c.fromExec(exec(pid, pid * 1e9, 0, ['x']));
    assert.equal(c.size, 3);
  });

  test('exited processes are kept for trailing events, but only the last few', () => {
    const c = new ProcessCache({
      maxEntries: 100,
      maxExited: 2,
      bootId: 'b',
      bootWallMs: () => 0,
      readProc: () => null,
    });
    const live = c.fromExec(exec(1, 1e9, 0, ['init']));
    const dead = [2, 3, 4].map((pid) => c.fromExec(exec(pid, pid * 1e9, 1, [`p${pid}`])));
    for (const e of dead) c.markExited(e);
    assert.equal(c.size, 3, 'the live process and the last two exited');
    assert.equal(c.lookup(header(4, 4e9)).cmdLine, 'p4', 'a trailing event still finds the exited process');
    assert.equal(c.lookup(header(1, 1e9)), live);
    const gone = c.lookup(header(2, 2e9, 1));
    assert.notEqual(gone, dead[0], 'the earliest exited was dropped');
    assert.equal(gone.cmdLine, 'init', 'and is described from its parent, as a vanished process is');
    // A pid reused by a new process is live again and does not count against the exited.
    c.markExited(c.lookup(header(1, 1e9)));
    const reborn = c.fromExec(exec(1, 9e9, 0, ['again']));
    assert.equal(c.lookup(header(1, 9e9)), reborn);
    assert.equal(reborn.exited, false);
  });

  test('cmdLineOf quotes what a shell would need quoted', () => {
    assert.equal(cmdLineOf(['echo', 'a b', "it's", '']), `echo 'a b' 'it'\\''s' ''`);
  });
});

describe('UserNames', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-users-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('names come from the passwd file and follow its changes', () => {
    const p = join(dir, 'passwd');
    writeFileSync(p, 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    let now = 0;
    const u = new UserNames(p, 1000, () => now);
    assert.equal(u.name(0), 'root');
    assert.equal(u.name(1000), 'alice');
    assert.equal(u.name(4242), '');
    writeFileSync(p, 'root:x:0:0:root:/root:/bin/sh\nbob:x:4242:4242::/home/bob:/bin/sh\nbroken-line\n');
    assert.equal(u.name(4242), '', 'not re-read before the recheck interval');
    now = 5000;
    assert.equal(u.name(4242), 'bob');
    assert.equal(u.name(1000), '');
  });
});

describe('parseDnsQuestion', () => {
  const query = (name: string, type = 1) =>
    Buffer.concat([
      Buffer.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
      ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
      Buffer.from([0, 0, type, 0, 1]),
    ]);

  test('reads the first question', () => {
    assert.deepEqual(parseDnsQuestion(query('www.example.com', 28)), {
      id: 0xabcd,
      hostname: 'www.example.com',
      type: 'AAAA',
      class: 'IN',
    });
  });

  test('rejects responses, truncated packets and compression pointers', () => {
    const resp = query('a.b');
    resp[2] = 0x81;
    assert.equal(parseDnsQuestion(resp), null);
    assert.equal(parseDnsQuestion(query('example.com').subarray(0, 20)), null);
    const ptr = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])]);
    assert.equal(parseDnsQuestion(ptr), null);
    assert.equal(parseDnsQuestion(Buffer.alloc(3)), null);
  });
});

describe('PathFilter', () => {
  test('a prefix matches itself and below, not siblings', () => {
    const f = new PathFilter(['/proc', '/var/lib/palisade/']);
    assert.equal(f.ignored('/proc'), true);
    assert.equal(f.ignored('/proc/1/status'), true);
    assert.equal(f.ignored('/procfoo'), false);
    assert.equal(f.ignored('/var/lib/palisade/spool/1'), true);
    assert.equal(f.ignored('/var/lib/palisade2'), false);
  });

  test('/dev is filtered but /dev/shm and /dev/mqueue are watched, unless ignored explicitly', () => {
    const f = new PathFilter(['/proc', '/sys', '/dev']);
    assert.equal(f.ignored('/dev/null'), true);
    assert.equal(f.ignored('/dev/pts/0'), true);
    assert.equal(f.ignored('/dev/shm/payload'), false);
    assert.equal(f.ignored('/dev/mqueue/q'), false);
    assert.equal(f.ignored('/dev/shmx'), true);
    assert.equal(new PathFilter(['/dev', '/dev/shm']).ignored('/dev/shm/x'), true);
  });
});
