/**
 * test-support.ts: shared helpers for the eBPF sensor tests (not used in production code).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Backoff } from '@palisade/common';
import { type Event, Tier } from '@palisade/protocol';
import { sleep } from '@palisade/testkit';
import { type BpfSensor, type BpfSensorOptions, createBpfSensor } from './bpf-sensor.linux.js';

/** Collected is a started sensor and the events it delivered. */
export interface Collected {
  sensor: BpfSensor;
  events: Event[];
  /** waitFor resolves with the first event matching `pred`, or rejects after `timeoutMs`. */
  waitFor(pred: (e: Event) => boolean, what: string, timeoutMs?: number): Promise<Event>;
}

/** startSensor starts a real sensor (real helper, real kernel) collecting into memory. */
export async function startSensor(opts: Partial<BpfSensorOptions> = {}): Promise<Collected> {
  const sensor = createBpfSensor({
    ignorePids: [],
    tier: Tier.WORKSTATION,
    backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
    ...opts,
  });
  const events: Event[] = [];
  await sensor.start((e) => events.push(e));
  return {
    sensor,
    events,
    async waitFor(pred, what, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(25);
      }
    },
  };
}

/** marker returns a unique string for one test run. */
export function marker(prefix = 'palisade'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export { sleep };

/** run spawns a command (argv array, no shell string built from input) and waits for its exit. */
export function run(
  file: string,
  args: string[],
  opts: { cwd?: string; input?: string } = {},
): Promise<{ pid: number; code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    c.on('error', reject);
    c.on('exit', (code) => resolve({ pid: c.pid ?? 0, code, stdout }));
    c.stdin.on('error', () => {}); // the command may exit without reading its input
    c.stdin.end(opts.input ?? '');
    setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
  });
}

export { type Warning, warningLogger } from '../test-logger.js';
