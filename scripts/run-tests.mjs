#!/usr/bin/env node
// run-tests.mjs runs every compiled test file (`dist/**/*.test.js`) with Node's test runner.
// Arguments filter by substring of the path: `node scripts/run-tests.mjs storage-sqlite e2e`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js') && p.includes(`${join('dist')}`)) out.push(p);
  }
  return out;
}

const files = [];
for (const top of ['packages', 'apps', 'test', 'bench']) walk(join(root, top), files);
const selected = files
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (selected.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
console.log(`running ${selected.length} test files`);
// A test that hangs fails by name after 10 minutes instead of holding the run until CI's limit.
const TEST_TIMEOUT_MS = 600_000;
const r = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', `--test-timeout=${TEST_TIMEOUT_MS}`, ...selected],
  {
    stdio: 'inherit',
    cwd: root,
    // Marks a test run: agents refuse to apply isolation rules in this machine's own network
    // namespace (apps/agent/src/isolation/netns-guard.linux.ts), only in namespaces tests create.
    env: { ...process.env, PALISADE_ISOLATION_TEST: '1' },
  },
);
process.exit(r.status ?? 1);
