import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../client.js';
import { policyBody } from './groups.js';

test('policyBody: flags become the API policy change; half a window is a usage error', () => {
  assert.deepEqual(policyBody({ tier: 'server', channel: 'beta' }), { tier: 'server', channel: 'beta' });
  assert.deepEqual(policyBody({ window: 'always' }), { maintenance_window: 'always' });
  assert.deepEqual(policyBody({ days: 'mon, 5', start: '22:00', end: '04:00', tz: 'UTC' }), {
    maintenance_window: { days: ['mon', 5], start: '22:00', end: '04:00', time_zone: 'UTC' },
  });
  assert.deepEqual(policyBody({}), {});
  const usage = (f: Parameters<typeof policyBody>[0], msg: RegExp) =>
    assert.throws(
      () => policyBody(f),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && msg.test(e.message),
    );
  usage({ days: 'mon', start: '22:00' }, /needs all of --days, --start, --end and --tz/);
  usage({ window: 'nightly' }, /--window takes only "always"/);
  usage({ window: 'always', days: 'mon' }, /cannot be combined/);
});
