// The systemd units in packaging/systemd pass `systemd-analyze verify` without a single warning
// (systemd only warns about a bad value and ignores it, so warnings are failures here), and the
// capabilities they grant are the ones docs/systemd.md lists as measured. systemd-analyze comes
// with Debian's systemd package, which scripts/setup.mjs installs for the tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNITS = join(ROOT, 'packaging', 'systemd');
const DOC = readFileSync(join(ROOT, 'docs', 'systemd.md'), 'utf8');
/** Where the units expect the release (bundle layout: a `current` link to the running version). */
const PREFIX = '/opt/palisade/current';

function verify(dir: string, files: string[]): { code: number | null; out: string } {
  const r = spawnSync('systemd-analyze', ['verify', ...files.map((f) => join(dir, f))], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** stage copies the units into a temp dir with ExecStart pointing at this checkout's launchers. */
function stage(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-units-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  symlinkSync(join(ROOT, 'apps/cli/bin/palisade-agent'), join(dir, 'bin/palisade-agent'));
  symlinkSync(join(ROOT, 'apps/cli/bin/palisade.js'), join(dir, 'bin/palisade'));
  for (const u of ['palisade-agent.service', 'palisade-server.service'])
    writeFileSync(join(dir, u), readFileSync(join(UNITS, u), 'utf8').replaceAll(PREFIX, dir));
  return dir;
}

test('the agent and server units verify cleanly with systemd-analyze', (t) => {
  const dir = stage(t);
  const r = verify(dir, ['palisade-agent.service', 'palisade-server.service']);
  assert.equal(r.out, '', r.out);
  assert.equal(r.code, 0);
});

test('the check can fail: a bad value is a warning systemd-analyze prints, and counts as a failure here', (t) => {
  const dir = stage(t);
  const unit = readFileSync(join(dir, 'palisade-server.service'), 'utf8').replace(
    'ProtectSystem=strict',
    'ProtectSystem=sideways',
  );
  writeFileSync(join(dir, 'bad.service'), unit);
  assert.match(verify(dir, ['bad.service']).out, /protect system value.*sideways/i);
});

function directive(unit: string, key: string): string[] {
  const text = readFileSync(join(UNITS, unit), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(`${key}=`));
  assert.ok(line !== undefined, `${unit} has no ${key}=`);
  return line
    .slice(key.length + 1)
    .split(/\s+/)
    .filter(Boolean);
}

test('least privilege: the server has no capability, the agent exactly the measured ones, both NoNewPrivileges', () => {
  assert.deepEqual(directive('palisade-server.service', 'CapabilityBoundingSet'), []);
  assert.deepEqual(directive('palisade-server.service', 'AmbientCapabilities'), []);
  assert.notEqual(directive('palisade-server.service', 'User')[0], 'root');
  const caps = directive('palisade-agent.service', 'CapabilityBoundingSet');
  assert.ok(caps.includes('CAP_BPF') && caps.includes('CAP_PERFMON'));
  assert.ok(!caps.includes('CAP_SYS_ADMIN'), 'the agent must not need CAP_SYS_ADMIN');
  for (const c of caps)
    assert.match(DOC, new RegExp(`\\| \`${c}\` \\|`), `docs/systemd.md does not explain ${c}`);
  for (const u of ['palisade-agent.service', 'palisade-server.service']) {
    assert.deepEqual(directive(u, 'NoNewPrivileges'), ['yes'], u);
  }
  assert.deepEqual(directive('palisade-agent.service', 'Environment'), [
    'MALLOC_ARENA_MAX=2',
    'UV_THREADPOOL_SIZE=2',
  ]);
});
