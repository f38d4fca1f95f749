#!/usr/bin/env node
// npm run build:agent-bundle -- --signing-key FILE [--version X.Y.Z] [--out FILE] [--expires-days N]
// Builds the signed agent bundle from this (built) repository: see docs/releases.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  AGENT_ENTRY,
  AGENT_ENTRY_SOURCE,
  buildBundle,
  collectAgentFiles,
} from '../packages/release/dist/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'signing-key': { type: 'string' },
    version: { type: 'string' },
    out: { type: 'string' },
    'expires-days': { type: 'string', default: '365' },
    'min-kernel': { type: 'string', default: '5.8' },
  },
});
if (!values['signing-key']) {
  console.error('build-agent-bundle: --signing-key FILE (an ed25519 private key, PKCS#8 PEM) is required');
  process.exit(2);
}
const version =
  values.version ?? JSON.parse(readFileSync(join(repoRoot, 'apps/agent/package.json'), 'utf8')).version;
const days = Number(values['expires-days']);
if (!Number.isInteger(days) || days < 1 || days > 3650) {
  console.error(
    `build-agent-bundle: --expires-days ${values['expires-days']} is not a whole number of days in 1-3650`,
  );
  process.exit(2);
}
const out = resolve(values.out ?? `palisade-agent-${version}-linux-${process.arch}.tar.gz`);
const scratch = mkdtempSync(join(tmpdir(), 'palisade-bundle-'));
try {
  const entry = join(scratch, 'entry.js');
  writeFileSync(entry, AGENT_ENTRY_SOURCE);
  const files = [...collectAgentFiles(repoRoot), { path: AGENT_ENTRY, source: entry }];
  console.error(`build-agent-bundle: ${files.length} files`);
  const now = Date.now();
  const r = await buildBundle({
    version,
    platform: 'linux',
    arch: process.arch,
    minKernel: values['min-kernel'],
    entry: AGENT_ENTRY,
    files,
    signingKeyPem: readFileSync(values['signing-key'], 'utf8'),
    expiresAt: now + days * 86_400_000,
    now,
    out,
    workDir: join(scratch, 'work'),
  });
  console.log(
    JSON.stringify({ out, version, files: r.manifest.files.length, size: r.size, sha256: r.sha256 }),
  );
} catch (err) {
  console.error(`build-agent-bundle: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
