// These tests load real eBPF programs: they need root (CI runs as root).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Event, Tier } from '@palisade/protocol';
import { type Collected, marker, run, sleep, startSensor } from './test-support.test-util.js';

const isLaunchOf = (m: string) => (e: Event) =>
  e.classUid === 1007 && e.activityId === 1 && (e.process?.argv.includes(m) ?? false);

describe('eBPF sensor: process exec and exit (root, real kernel)', () => {
  let c: Collected;
  before(async () => {
    c = await startSensor();
  });
  after(async () => {
    await c.sensor.stop();
  });

  test('capabilities report Process, Netflow, FileMod and DNS active from ebpf', () => {
    const caps = c.sensor.capabilities();
    assert.equal(caps.length, 4);
    for (const cap of caps) {
      assert.equal(cap.active, true, `kind ${cap.kind}: ${cap.reason}`);
      assert.equal(cap.source, 'ebpf');
    }
  });

  test('/bin/echo: exec with argv, exe, cwd, pid, ppid, uid; exit with code 0', async () => {
    const m = marker();
    const r = await run('/bin/echo', [m], { cwd: '/tmp' });
    const launch = await c.waitFor(isLaunchOf(m), `exec of echo ${m}`);
    const p = launch.process!;
    assert.deepEqual(p.argv, ['/bin/echo', m]);
    assert.equal(p.cmdLine, `/bin/echo ${m}`);
    assert.equal(p.path, realpathSync('/bin/echo'));
    assert.equal(p.name, 'echo');
    assert.equal(p.cwd, '/tmp');
    assert.equal(p.pid, r.pid);
    assert.equal(p.ppid, process.pid);
    assert.equal(p.user?.uid, String(process.getuid?.()));
    assert.equal(p.user?.name, 'root');
    assert.equal(p.parent?.pid, process.pid);
    assert.equal(p.argvTruncated, false);
    // Login uid and session are inherited from this test process; -1 (unset) is reported as 0.
    const loginuid = Number(readFileSync('/proc/self/loginuid', 'utf8'));
    const session = Number(readFileSync('/proc/self/sessionid', 'utf8'));
    assert.equal(p.user?.auid, loginuid);
    assert.equal(p.sessionId, session === 0xffffffff ? 0 : session);
    assert.ok(p.cgroupId > 0n, 'cgroup id');
    assert.ok(p.uid.length >= 16, 'a unique process id');
    const now = Date.now();
    assert.ok(Math.abs(Number(launch.timeMs) - now) < 10_000, 'event time is wall-clock ms');
    assert.ok(Math.abs(Number(p.createdTimeMs) - Number(launch.timeMs)) < 2000, 'created time near the exec');

    const exit = await c.waitFor(
      (e) => e.classUid === 1007 && e.activityId === 2 && e.process?.pid === r.pid,
      'exit of echo',
    );
    assert.equal(exit.hasExitCode, true);
    assert.equal(exit.exitCode, 0);
    assert.equal(exit.process?.uid, p.uid, 'exit carries the same unique id');
  });

  test("sh -c 'exit 3' reports exit code 3; a killed process reports its signal", async () => {
    const m = marker();
    const r = await run('/bin/sh', ['-c', `exit 3 # ${m}`]);
    assert.equal(r.code, 3);
    const exit = await c.waitFor(
      (e) => e.classUid === 1007 && e.activityId === 2 && e.process?.pid === r.pid,
      'exit of sh',
    );
    assert.equal(exit.exitCode, 3);
    assert.equal(exit.exitSignal, 0);

    const sleeper = spawn('/bin/sleep', ['30']);
    await c.waitFor(
      (e) => e.classUid === 1007 && e.activityId === 1 && e.process?.pid === sleeper.pid,
      'sleep exec',
    );
    sleeper.kill('SIGKILL');
    const killed = await c.waitFor(
      (e) => e.classUid === 1007 && e.activityId === 2 && e.process?.pid === sleeper.pid,
      'exit of killed sleep',
    );
    assert.equal(killed.exitSignal, 9);
    assert.equal(killed.exitCode, 128 + 9);
  });

  test('long argv is cut at the documented limit and flagged truncated', async () => {
    const m = marker();
    const big = 'x'.repeat(1000);
    const r = await run('/bin/echo', [m, big, big, big, big, big]);
    const launch = await c.waitFor((e) => isLaunchOf(m)(e) && e.process?.pid === r.pid, 'long exec');
    assert.equal(launch.process?.argvTruncated, true);
    assert.ok(launch.process!.argv.join('\0').length <= 4096);
  });

  test('server tier stops exit events, in the kernel; workstation tier brings them back', async () => {
    const freshStats = async () => {
      const n = c.sensor.stats().statsRecords;
      for (let i = 0; c.sensor.stats().statsRecords < n + 2; i++) {
        if (i > 100) throw new Error('no stats records from the helper');
        await sleep(50);
      }
      return c.sensor.stats().kernelRecords;
    };
    c.sensor.setTier(Tier.SERVER);
    assert.equal(await c.sensor.sync(), true);
    const kernelBefore = await freshStats();
    const m1 = marker();
    const r1 = await run('/bin/echo', [m1]);
    await c.waitFor(isLaunchOf(m1), 'exec in server tier');
    const m2 = marker();
    await run('/bin/echo', [m2]);
    await c.waitFor(isLaunchOf(m2), 'second exec in server tier');
    await sleep(300);
    assert.equal(
      c.events.some((e) => e.classUid === 1007 && e.activityId === 2 && e.process?.pid === r1.pid),
      false,
      'no exit event in server tier',
    );
    const kernelAfter = await freshStats();
    assert.equal(kernelAfter.exit, kernelBefore.exit, 'the kernel itself stopped sending exit records');
    assert.ok((kernelAfter.exec ?? 0) > (kernelBefore.exec ?? 0), 'while exec records still flow');

    c.sensor.setTier(Tier.WORKSTATION);
    assert.equal(await c.sensor.sync(), true);
    const r3 = await run('/bin/echo', [marker()]);
    await c.waitFor(
      (e) => e.classUid === 1007 && e.activityId === 2 && e.process?.pid === r3.pid,
      'exit again',
    );
    assert.equal(c.sensor.counters().restarts, 0);
  });
});

describe('eBPF sensor: ignorePids (root)', () => {
  test('activity of an ignored process and of its children is dropped', async () => {
    // The shell waits for a line on stdin before it runs anything, so the sensor is up first.
    const sh = spawn('/bin/sh', ['-c', 'read x; /bin/echo "$x-child"; exit 0'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const c = await startSensor({ ignorePids: [sh.pid!] });
    try {
      const m = marker('ignored');
      const exited = new Promise((r) => sh.on('exit', r));
      sh.stdin!.end(`${m}\n`);
      await exited;
      const control = marker('control');
      await run('/bin/echo', [control]);
      await c.waitFor(isLaunchOf(control), 'the control exec');
      await sleep(200);
      assert.equal(
        c.events.some((e) => JSON.stringify(e.process?.argv ?? []).includes(m)),
        false,
        'the ignored shell child was reported',
      );
      assert.equal(
        c.events.some((e) => e.process?.pid === sh.pid),
        false,
        'the ignored shell itself was reported',
      );
    } finally {
      sh.kill('SIGKILL');
      await c.sensor.stop();
    }
  });
});
