// The palisade-agent launcher: it sets the agent's process environment (ADR 0007) unless the
// caller set it, and execs node with main.js and the agent's arguments, keeping its own pid.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AGENT_LAUNCHER } from './quickstart.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-launcher-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for node that prints what it was started with, including its pid and parent's. */
const fakeNode = join(dir, 'fake-node');
writeFileSync(
  fakeNode,
  '#!/bin/sh\necho "arena=$MALLOC_ARENA_MAX pool=$UV_THREADPOOL_SIZE pid=$$"\nfor a in "$@"; do echo "arg=$a"; done\n',
);
chmodSync(fakeNode, 0o755);

function launch(env: Record<string, string>): string[] {
  // `sh -c 'echo $$; exec ...'`: the launcher must exec, so the pid printed before equals node's.
  const out = execFileSync(
    '/bin/sh',
    ['-c', 'echo "shell=$$"; exec "$0" "$@"', AGENT_LAUNCHER, '--tier', 'server'],
    {
      env: { PATH: '/usr/bin:/bin', PALISADE_NODE: fakeNode, ...env },
      encoding: 'utf8',
    },
  );
  return out.trim().split('\n');
}

test('palisade-agent sets MALLOC_ARENA_MAX and UV_THREADPOOL_SIZE and execs node with the agent command', () => {
  const [shell, first, ...args] = launch({});
  assert.match(first!, /^arena=2 pool=2 pid=\d+$/);
  assert.equal(first!.split('pid=')[1], shell!.split('=')[1], 'node runs with the launcher’s own pid');
  assert.equal(resolve(args[0]!.slice('arg='.length)), fileURLToPath(new URL('./main.js', import.meta.url)));
  assert.deepEqual(args.slice(1), ['arg=agent', 'arg=--tier', 'arg=server']);
});

test('values already in the environment win', () => {
  const [, first] = launch({ MALLOC_ARENA_MAX: '8', UV_THREADPOOL_SIZE: '4' });
  assert.match(first!, /^arena=8 pool=4 /);
});
