import { readFileSync } from 'node:fs';
import type { Clock } from '@palisade/common';

/**
 * FileClock reads the time (ms since the epoch, decimal) from a file at each call. Test-only: it
 * lets a test move a real agent process through simulated years (see testHooksFromEnv).
 */
export class FileClock implements Clock {
  constructor(private readonly path: string) {}
  now(): number {
    const ms = Number(readFileSync(this.path, 'utf8').trim());
    if (!Number.isFinite(ms)) throw new Error(`${this.path} does not hold a time in ms`);
    return ms;
  }
}

/** TestHooks are what the test-only environment variables set. */
export interface TestHooks {
  clock?: Clock;
  checkInIntervalMs?: number;
}

/**
 * testHooksFromEnv reads two TEST-ONLY environment variables of `palisade agent` (never set them
 * in production; the agent logs a warning when they are set):
 *
 * - PALISADE_TEST_CLOCK_FILE=<file>: the agent's clock reads the time from this file (ms since the
 *   epoch). It drives only the certificate renewal schedule, so a test can move a real agent
 *   process through two simulated years while TLS still checks validity against real time.
 * - PALISADE_TEST_CHECKIN_INTERVAL_MS=<ms>: the check-in interval (default one minute).
 */
export function testHooksFromEnv(env: NodeJS.ProcessEnv): TestHooks {
  const hooks: TestHooks = {};
  if (env.PALISADE_TEST_CLOCK_FILE) hooks.clock = new FileClock(env.PALISADE_TEST_CLOCK_FILE);
  const interval = env.PALISADE_TEST_CHECKIN_INTERVAL_MS;
  if (interval) {
    const ms = Number(interval);
    if (!Number.isInteger(ms) || ms < 10 || ms > 3_600_000)
      throw new Error(
        `PALISADE_TEST_CHECKIN_INTERVAL_MS must be an integer from 10 to 3600000, got "${interval}"`,
      );
    hooks.checkInIntervalMs = ms;
  }
  return hooks;
}
