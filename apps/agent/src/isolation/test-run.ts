/**
 * TEST_RUN_ENV marks a test run (set by the test runner and by @palisade/testkit's NetLab). While
 * it is set, isolation refuses to act on the machine's own (root) network namespace: tests must
 * run the agent inside a network namespace they created, and a test that forgets must fail
 * rather than cut the machine off.
 */
export const TEST_RUN_ENV = 'PALISADE_ISOLATION_TEST';

/** isTestRun tells whether TEST_RUN_ENV marks this process as part of a test run. */
export function isTestRun(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_RUN_ENV] === '1';
}
