import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { buildBundle, generateKeyPair, makeRoot, makeSigningKey, type TrustBundle } from '@palisade/release';
import { tempDir } from '@palisade/testkit';
import { prepareUpdate } from './prepare-update.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1);

test('an update is unpacked beside the current version only when newer, signed by a known key and intact', async () => {
  const dir = tempDir('palisade-update-');
  const root = generateKeyPair();
  const signing = generateKeyPair();
  const trust: TrustBundle = {
    roots: [makeRoot(1, root.publicKey, NOW + 365 * DAY, root.privateKeyPem)],
    signingKeys: [makeSigningKey(signing.publicKey, NOW - DAY, NOW + 90 * DAY, 1, root.privateKeyPem)],
  };
  const pinned = { seq: 1, publicKey: root.publicKey, revocationsSeq: 0 };
  writeFileSync(join(dir, 'entry.js'), 'export {};\n');
  const build = async (version: string, key = signing.privateKeyPem) => {
    const out = join(dir, `b-${version}-${Math.random()}.tar.gz`);
    await buildBundle({
      version,
      platform: 'linux',
      arch: 'x64',
      minKernel: '5.8',
      entry: 'bin/agent.js',
      files: [{ path: 'bin/agent.js', source: join(dir, 'entry.js') }],
      signingKeyPem: key,
      expiresAt: NOW + 30 * DAY,
      now: NOW,
      out,
      workDir: join(dir, 'work'),
    });
    return out;
  };
  const versionsDir = join(dir, 'versions');
  mkdirSync(join(versionsDir, '1.0.0'), { recursive: true });
  const base = {
    currentVersion: '1.0.0',
    rolledBack: [],
    pinned,
    trust,
    versionsDir,
    platform: 'linux',
    arch: 'x64',
    now: NOW,
  };
  const listing = () => readdirSync(versionsDir).sort();

  await assert.rejects(
    prepareUpdate({ ...base, bundleFile: await build('0.9.0') }),
    /not newer than the running 1.0.0/,
  );
  await assert.rejects(prepareUpdate({ ...base, bundleFile: await build('1.0.0') }), /not newer/);
  await assert.rejects(
    prepareUpdate({ ...base, rolledBack: ['1.1.0'], bundleFile: await build('1.1.0') }),
    /rolled back on this host/,
  );
  await assert.rejects(
    prepareUpdate({ ...base, arch: 'arm64', bundleFile: await build('1.1.0') }),
    /this host is linux\/arm64/,
  );
  await assert.rejects(
    prepareUpdate({ ...base, bundleFile: await build('1.1.0', generateKeyPair().privateKeyPem) }),
    /unknown key/,
  );
  // Metadata expired: the agent keeps its version and the error says why it cannot update.
  await assert.rejects(
    prepareUpdate({ ...base, now: NOW + 31 * DAY, bundleFile: await build('1.1.0') }),
    /release metadata for 1.1.0 expired at/,
  );
  const good = await build('1.1.0');
  const raw = gunzipSync(readFileSync(good));
  const at = raw.indexOf(Buffer.from('export {}'));
  raw[at] = 'E'.charCodeAt(0);
  const tampered = join(dir, 'tampered.tar.gz');
  writeFileSync(tampered, gzipSync(raw));
  await assert.rejects(prepareUpdate({ ...base, bundleFile: tampered }), /does not match its sha256/);
  assert.deepEqual(listing(), ['1.0.0'], 'nothing was unpacked by a refused bundle');

  const ok = await prepareUpdate({ ...base, bundleFile: good });
  assert.equal(ok.version, '1.1.0');
  assert.deepEqual(listing(), ['1.0.0', '1.1.0']);
  assert.equal(readFileSync(join(ok.dir, 'bin/agent.js'), 'utf8'), 'export {};\n');
});
