// The helper's CO-RE relocations come from a minimized copy of the kernel's BTF made at build time
// (sensor-bpf/Makefile, min-btf), so that loading does not hold the whole BTF in memory twice.
// These tests run the real helper on the real kernel: they need root (CI runs as root).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Backoff } from '@palisade/common';
import { type Event, Tier } from '@palisade/protocol';
import { createBpfSensor } from './bpf-sensor.linux.js';
import { HEADER_SIZE, Kind } from './records.js';
import { marker, run, sleep, warningLogger } from './test-support.test-util.js';

const HELPER = fileURLToPath(new URL('../../../sensor-bpf/build/palisade-sensor', import.meta.url));
const KERNEL_BTF = '/sys/kernel/btf/vmlinux';

function btfId(helper = HELPER): string {
  return execFileSync(helper, ['--btf-id'], { encoding: 'utf8' }).trim();
}

/** peakKbOfHelper starts `helper`, waits for its HELLO record (all programs attached) and returns VmHWM. */
function peakKbOfHelper(helper: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(helper, ['--ringbuf-mb', '2'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = Buffer.alloc(0);
    let err = '';
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`no HELLO from the helper within 10 s: ${err}`));
    }, 10_000);
    c.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    c.stdout.on('data', (d: Buffer) => {
      out = Buffer.concat([out, d]);
      if (out.length < HEADER_SIZE || out.readUInt16LE(2) !== Kind.Hello) return;
      clearTimeout(t);
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${c.pid}/status`, 'utf8'));
      c.stdin.end();
      resolve(Number(hwm?.[1]));
    });
  });
}

/** startWithHelper runs a sensor on `helper`, collecting events and the helper's stderr lines. */
async function startWithHelper(helper: string) {
  const { logger, warnings } = warningLogger();
  const sensor = createBpfSensor({
    helperPath: helper,
    ignorePids: [],
    tier: Tier.WORKSTATION,
    backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
    logger,
  });
  const events: Event[] = [];
  await sensor.start((e) => events.push(e));
  // The helper's stderr lines reach the log as warnings with the line as a field.
  const lines = () => warnings.map((w) => String(w.obj.line ?? ''));
  return { sensor, events, lines };
}

async function execSeen(events: Event[]): Promise<boolean> {
  const m = marker();
  await run('/bin/echo', [m]);
  for (let i = 0; i < 200; i++) {
    if (events.some((e) => e.classUid === 1007 && (e.process?.argv.includes(m) ?? false))) return true;
    await sleep(25);
  }
  return false;
}

describe('eBPF helper: minimized kernel BTF (root, real kernel)', () => {
  let dir: string;
  let copy: string;
  let minBtf: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-btf-'));
    copy = join(dir, 'palisade-sensor');
    copyFileSync(HELPER, copy);
    chmodSync(copy, 0o755);
    mkdirSync(join(dir, 'btf'));
    minBtf = join(dir, 'btf', `vmlinux-${btfId()}.btf`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--btf-id names the running kernel BTF by hash and size; the build made its minimized copy', () => {
    const id = btfId();
    assert.match(id, /^[0-9a-f]{16}-\d+$/);
    assert.equal(Number(id.split('-')[1]), statSync(KERNEL_BTF).size);
    const built = join(HELPER, '..', 'btf', `vmlinux-${id}.btf`);
    assert.ok(existsSync(built), `${built} was not built`);
    assert.ok(statSync(built).size < statSync(KERNEL_BTF).size / 100, 'the copy is cut down');
  });

  test('with the minimized copy the helper never holds the whole kernel BTF; without it, it does', async () => {
    const btfKb = statSync(KERNEL_BTF).size / 1024;
    const withCopy = await peakKbOfHelper(HELPER);
    rmSync(minBtf, { force: true });
    const without = await peakKbOfHelper(copy);
    // Without the copy the peak comes while libbpf parses the kernel BTF, before the maps and the
    // two ring buffers exist; with it, at the end, with them (ADR 0021 added a second ring). So
    // the gap is a little less than the BTF's size, though the whole BTF is never held.
    assert.ok(withCopy < without - btfKb * 0.75, `peak ${withCopy} kB with the copy, ${without} kB without`);
  });

  test('a corrupt minimized copy: the helper says so, loads with the whole BTF and events flow', async () => {
    writeFileSync(minBtf, Buffer.alloc(4096, 0x5a), { mode: 0o644 });
    const s = await startWithHelper(copy);
    try {
      assert.ok(await execSeen(s.events), 'an exec event after the fallback');
      assert.ok(
        s.lines().some((l) => /retrying with the kernel's whole BTF/.test(l)),
        `fallback not reported: ${s.lines().join(' | ')}`,
      );
    } finally {
      await s.sensor.stop();
    }
  });

  test('a minimized copy others could have written is not used', async () => {
    copyFileSync(join(HELPER, '..', 'btf', `vmlinux-${btfId()}.btf`), minBtf);
    chmodSync(minBtf, 0o666);
    const s = await startWithHelper(copy);
    try {
      assert.ok(await execSeen(s.events), 'an exec event with the whole BTF');
      assert.ok(
        s.lines().some((l) => /not using .*writable by us only/.test(l)),
        `refusal not reported: ${s.lines().join(' | ')}`,
      );
    } finally {
      await s.sensor.stop();
    }
  });
});
