// Supervision: a missing, failing, crashing or garbage-emitting helper never takes the agent down.
// The last test kills the real helper, so it loads eBPF programs: it needs root.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Backoff } from '@palisade/common';
import { Tier } from '@palisade/protocol';
import { createBpfSensor } from './bpf-sensor.linux.js';
import { HEADER_SIZE, Kind, REC_MAGIC, REC_VERSION } from './records.js';
import { marker, run, sleep, startSensor, warningLogger } from './test-support.test-util.js';

/** helloRecord is what a real helper writes once it is attached. */
function helloRecord(): Buffer {
  const b = Buffer.alloc(HEADER_SIZE + 24);
  b.writeUInt16LE(REC_MAGIC, 0);
  b.writeUInt16LE(Kind.Hello, 2);
  b.writeUInt32LE(b.length, 4);
  b.writeUInt32LE(REC_VERSION, 64);
  b.writeUInt32LE(process.pid, 68);
  return b;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('eBPF sensor supervision', () => {
  let dir: string;
  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };
  const fast = () => new Backoff({ initialMs: 20, maxMs: 50 });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-bpf-sup-'));
    writeFileSync(join(dir, 'hello.bin'), helloRecord());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a helper that is not built: start resolves, capabilities inactive with the reason', async () => {
    const s = createBpfSensor({ helperPath: join(dir, 'does-not-exist'), ignorePids: [], tier: Tier.SERVER });
    await s.start(() => {});
    const caps = s.capabilities();
    assert.equal(caps.length, 4);
    for (const c of caps) {
      assert.equal(c.active, false);
      assert.equal(c.source, 'ebpf');
      assert.match(c.reason, /helper not built/);
    }
    assert.equal(s.counters().restarts, 0);
    await s.stop();
  });

  test('a helper that cannot load (no BTF, no permission) fails for good with its own explanation', async () => {
    for (const [code, want] of [
      [2, /no kernel BTF: kernel BTF is missing here/],
      [3, /no permission to load eBPF programs: not root/],
      [4, /kernel refused the eBPF programs: verifier said no/],
    ] as const) {
      const msg = { 2: 'kernel BTF is missing here', 3: 'not root', 4: 'verifier said no' }[code];
      const p = script(`fail-${code}`, `echo "palisade-sensor: ${msg}" >&2\nexit ${code}`);
      const s = createBpfSensor({ helperPath: p, ignorePids: [], tier: Tier.WORKSTATION, backoff: fast() });
      await s.start(() => {});
      await sleep(150);
      const cap = s.capabilities()[0]!;
      assert.equal(cap.active, false);
      assert.match(cap.reason, want);
      assert.equal(s.counters().restarts, 0, 'a load failure is not retried in a loop');
      await s.stop();
    }
  });

  test('a helper of another record version fails for good, asking for a rebuild', async () => {
    const old = helloRecord();
    old.writeUInt32LE(REC_VERSION + 1, 64);
    writeFileSync(join(dir, 'hello-v2.bin'), old);
    const p = script('other-version', `cat "${join(dir, 'hello-v2.bin')}"\nexec sleep 5`);
    const s = createBpfSensor({ helperPath: p, ignorePids: [], tier: Tier.WORKSTATION, backoff: fast() });
    await s.start(() => {});
    await until(() => s.stats().helper.state === 'failed', 'failed state');
    assert.match(s.capabilities()[0]!.reason, /record version .*rebuild/);
    await sleep(150);
    assert.equal(s.counters().restarts, 0);
    await s.stop();
  });

  test('a helper that crashes is restarted with backoff and the restarts are counted', async () => {
    const p = script(
      'crash',
      `cat "${join(dir, 'hello.bin')}"\nsleep 0.1\necho "palisade-sensor: boom" >&2\nexit 1`,
    );
    const s = createBpfSensor({ helperPath: p, ignorePids: [], tier: Tier.WORKSTATION, backoff: fast() });
    await s.start(() => {});
    await until(() => s.counters().restarts >= 3, 'three restarts');
    const reason = s.capabilities()[0]!.reason;
    assert.match(reason, /restart/);
    await s.stop();
    const n = s.counters().restarts;
    await sleep(300);
    assert.equal(s.counters().restarts, n, 'no restarts after stop');
  });

  test('a garbage-emitting helper does not crash the sensor: counted, logged, restarted', async () => {
    const hello = join(dir, 'hello.bin');
    // Random bytes, a frame of an unknown kind, a truncated frame, then silence.
    const bad = Buffer.alloc(HEADER_SIZE);
    bad.writeUInt16LE(REC_MAGIC, 0);
    bad.writeUInt16LE(77, 2);
    bad.writeUInt32LE(HEADER_SIZE, 4);
    writeFileSync(join(dir, 'bad.bin'), bad);
    const p = script(
      'garbage',
      `cat "${hello}"; head -c 65536 /dev/urandom; cat "${join(dir, 'bad.bin')}" "${join(dir, 'bad.bin')}"; head -c 30 "${hello}"; exec sleep 5`,
    );
    const { logger, warnings } = warningLogger();
    const s = createBpfSensor({
      helperPath: p,
      ignorePids: [],
      tier: Tier.WORKSTATION,
      backoff: fast(),
      logger,
    });
    const events: unknown[] = [];
    await s.start((e) => events.push(e));
    await until(() => s.counters().restarts >= 1, 'a restart after the corrupt stream');
    const st = s.stats();
    assert.ok(st.resyncs + st.badRecords >= 3, `garbage counted (${JSON.stringify(st)})`);
    assert.ok(
      warnings.some((w) => /corrupt record/.test(w.msg)),
      'the corruption was logged',
    );
    assert.equal(events.length, 0, 'garbage produced no events');
    await s.stop();
  });

  test('a sink that throws is contained: logged and counted, the helper is not restarted (root)', async () => {
    const s = createBpfSensor({ ignorePids: [], tier: Tier.WORKSTATION, backoff: fast() });
    await s.start(() => {
      throw new Error('spool full');
    });
    try {
      await run('/bin/echo', [marker()]);
      await until(() => s.stats().handlerErrors > 0, 'a delivery error counted');
      await sleep(200);
      assert.equal(s.counters().restarts, 0);
      assert.equal(s.stats().helper.state, 'running');
    } finally {
      await s.stop();
    }
  });

  test('the real helper killed with SIGKILL is restarted and events keep coming (root)', async () => {
    const c = await startSensor();
    try {
      const st = c.sensor.stats().helper;
      assert.equal(st.state, 'running');
      process.kill((st as { pid: number }).pid, 'SIGKILL');
      await until(() => c.sensor.counters().restarts === 1, 'restart counted');
      await until(() => c.sensor.stats().helper.state === 'running', 'running again', 10_000);
      const m = marker();
      await run('/bin/echo', [m]);
      await c.waitFor((e) => e.process?.argv.includes(m) ?? false, 'exec after the restart');
      assert.equal(c.sensor.capabilities()[0]?.active, true);
    } finally {
      await c.sensor.stop();
    }
  });
});
