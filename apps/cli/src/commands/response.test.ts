import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../client.js';
import { type Command, describeCommand, isolationCell, killBody } from './response.js';

test('ISOLATION column: nothing when open, the status, desired and actual when they differ', () => {
  assert.equal(isolationCell(undefined), '-');
  const base = { pending_since: null, desired: { isolated: true, reason: 'x', since: null } };
  assert.equal(
    isolationCell({
      ...base,
      status: 'not_isolated',
      desired: { ...base.desired, isolated: false },
      actual: null,
    }),
    '-',
  );
  assert.equal(
    isolationCell({ ...base, status: 'isolated', actual: { state: 'isolated', reason: '', since: null } }),
    'isolated',
  );
  const since = new Date(Date.now() - 5 * 60_000).toISOString();
  assert.equal(
    isolationCell({ ...base, status: 'pending', pending_since: since, actual: null }),
    'pending since 5m (wants isolated, is unknown)',
  );
  assert.equal(
    isolationCell({ ...base, status: 'reverted', actual: { state: 'reverted', reason: 'x', since: null } }),
    'reverted (wants isolated, is reverted)',
  );
});

test('kill-process flags: a pid and the start time or unique id; nothing else is sent', () => {
  assert.throws(() => killBody({}), CliError);
  assert.throws(() => killBody({ pid: '42' }), /start-time .* reused pid/);
  assert.throws(() => killBody({ pid: 'abc', 'start-time': '1' }), /--pid N/);
  assert.deepEqual(killBody({ pid: '42', 'start-time': '1700000000000' }), {
    pid: 42,
    start_time: 1700000000000,
  });
  assert.deepEqual(killBody({ pid: '42', 'start-time': '2026-01-01T00:00:00Z', tree: true }), {
    pid: 42,
    start_time: '2026-01-01T00:00:00Z',
    tree: true,
  });
  assert.deepEqual(killBody({ pid: '7', 'process-uid': 'ab' }), { pid: 7, process_uid: 'ab' });
});

test('command states read as sentences', () => {
  const c = {
    id: 'c1',
    type: 'kill_process',
    state: 'failed',
    error: 'start_time_mismatch: reused',
    result: null,
  } as Command;
  assert.equal(describeCommand(c), 'command c1 (kill_process) failed: start_time_mismatch: reused');
  assert.match(
    describeCommand({ ...c, state: 'pending' }),
    /pending: the agent gets it when it is connected/,
  );
});
