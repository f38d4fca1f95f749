import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AGENT_ENTRY,
  AGENT_ENTRY_SOURCE,
  buildBundle,
  collectAgentFiles,
  generateKeyPair,
  makeRoot,
  makeSigningKey,
  readBundle,
  resolveTrust,
  unpackBundle,
  verifyBundle,
} from './index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('the real agent bundle is self-contained: unpacked outside the repository, its entry loads the agent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-bundle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = generateKeyPair();
  const signing = generateKeyPair();
  const now = Date.now();
  const entry = join(dir, 'entry.js');
  writeFileSync(entry, AGENT_ENTRY_SOURCE);
  const files = [...collectAgentFiles(repoRoot), { path: AGENT_ENTRY, source: entry }];
  assert.ok(files.some((f) => f.path === 'apps/agent/sensor-bpf/build/palisade-sensor'));
  assert.ok(files.some((f) => f.path === 'node_modules/ws/package.json'));
  assert.ok(
    !files.some((f) =>
      /^(apps|node_modules\/@palisade)\/.*\.test\.js$|node_modules\/@palisade\/server/.test(f.path),
    ),
  );
  const out = join(dir, 'agent.tar.gz');
  await buildBundle({
    version: '9.8.7',
    platform: 'linux',
    arch: process.arch,
    minKernel: '5.8',
    entry: AGENT_ENTRY,
    files,
    signingKeyPem: signing.privateKeyPem,
    expiresAt: now + 86_400_000,
    now,
    out,
    workDir: join(dir, 'work'),
  });
  const bundle = await readBundle(out);
  const trust = resolveTrust(
    { seq: 1, publicKey: root.publicKey, revocationsSeq: 0 },
    {
      roots: [makeRoot(1, root.publicKey, now + 86_400_000, root.privateKeyPem)],
      signingKeys: [makeSigningKey(signing.publicKey, now - 1000, now + 86_400_000, 1, root.privateKeyPem)],
    },
    now,
  );
  verifyBundle(bundle, trust, now);
  const versions = join(dir, 'opt/versions');
  mkdirSync(versions, { recursive: true });
  const dest = await unpackBundle(bundle, versions);
  // Outside the repository, Node resolves packages only from the bundle's node_modules.
  const r = spawnSync(process.execPath, [join(dest, AGENT_ENTRY), '--log-level', 'nonsense'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/, r.stderr);
  assert.match(r.stderr + r.stdout, /log-level|nonsense/i, 'the agent itself answered about its flags');
});
