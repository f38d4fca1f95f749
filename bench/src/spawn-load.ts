import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../src/spawner.c', import.meta.url));
const TINY_SOURCE = fileURLToPath(new URL('../src/tiny-exit.c', import.meta.url));
/** TINY_EXIT is the file name of the static do-nothing program built beside the spawner. */
export const TINY_EXIT = 'palisade-tiny-exit';

/** SpawnResult is what a paced exec load achieved. */
export interface SpawnResult {
  started: number;
  seconds: number;
  /** Exec starts per second actually achieved. */
  rate: number;
  failed: number;
}

/**
 * buildSpawner compiles bench/src/spawner.c into `dir` and returns the binary's path; it also
 * builds bench/src/tiny-exit.c (static, no libc) beside it as `tinyExitOf(spawner)`.
 */
export function buildSpawner(dir: string): string {
  const bin = join(dir, 'spawner');
  execFileSync('cc', ['-O2', '-o', bin, SOURCE], { stdio: 'inherit' });
  execFileSync('cc', ['-O2', '-static', '-nostdlib', '-o', join(dir, TINY_EXIT), TINY_SOURCE], {
    stdio: 'inherit',
  });
  return bin;
}

/** tinyExitOf is the path of the static do-nothing program built with `spawner`. */
export function tinyExitOf(spawner: string): string {
  return join(dirname(spawner), TINY_EXIT);
}

function runOne(bin: string, rate: number, count: number, argv: string[]): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [String(rate), String(count), ...argv], {
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        resolve(JSON.parse(out) as SpawnResult);
      } catch {
        reject(new Error(`spawner exited ${code} without a result: ${out}`));
      }
    });
  });
}

/**
 * spawnLoad execs `argv` `count` times at `rate`/s (0: as fast as the machine goes). A single
 * spawner is bounded by one exec's latency (posix_spawn waits for the child's exec), so the load
 * is split over `workers` spawners started together, each at rate/workers; the rate reported is
 * all starts over the longest worker's time.
 */
export async function spawnLoad(
  bin: string,
  rate: number,
  count: number,
  argv: string[],
  workers = 1,
): Promise<SpawnResult> {
  const each = Math.floor(count / workers);
  const parts = Array.from({ length: workers }, (_, i) => (i === 0 ? count - each * (workers - 1) : each));
  const results = await Promise.all(parts.map((n) => runOne(bin, rate / workers, n, argv)));
  const seconds = Math.max(...results.map((r) => r.seconds));
  const started = results.reduce((a, r) => a + r.started, 0);
  return {
    started,
    seconds,
    rate: started / seconds,
    failed: results.reduce((a, r) => a + r.failed, 0),
  };
}
