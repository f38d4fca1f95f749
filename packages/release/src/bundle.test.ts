import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  chmodSync,
  existsSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import {
  buildBundle,
  generateKeyPair,
  makeRevocations,
  makeRoot,
  makeSigningKey,
  readBundle,
  resolveTrust,
  signDocument,
  type TrustBundle,
  unpackBundle,
  verifyBundle,
  expiryWarnings,
} from './index.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1);

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'release-test-'));
  const root = generateKeyPair();
  const signing = generateKeyPair();
  const trust: TrustBundle = {
    roots: [makeRoot(1, root.publicKey, NOW + 365 * DAY, root.privateKeyPem)],
    signingKeys: [makeSigningKey(signing.publicKey, NOW - DAY, NOW + 90 * DAY, 1, root.privateKeyPem)],
  };
  const src = join(dir, 'src');
  mkdirSync(join(src, 'bin'), { recursive: true });
  writeFileSync(join(src, 'bin/agent.js'), 'console.log("agent")\n');
  writeFileSync(join(src, 'helper'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]));
  chmodSync(join(src, 'helper'), 0o755);
  return { dir, root, signing, trust, src, pinned: { seq: 1, publicKey: root.publicKey, revocationsSeq: 0 } };
}

async function build(
  s: ReturnType<typeof setup>,
  version = '1.2.0',
  signingPem = s.signing.privateKeyPem,
  expiresAt = NOW + 30 * DAY,
) {
  const out = join(s.dir, `agent-${version}-${Math.random().toString(36).slice(2)}.tar.gz`);
  await buildBundle({
    version,
    platform: 'linux',
    arch: 'x64',
    minKernel: '5.8',
    entry: 'bin/agent.js',
    files: [
      { path: 'bin/agent.js', source: join(s.src, 'bin/agent.js') },
      { path: 'bin/palisade-sensor', source: join(s.src, 'helper') },
    ],
    signingKeyPem: signingPem,
    expiresAt,
    now: NOW,
    out,
    workDir: join(s.dir, 'work'),
  });
  return out;
}

/** tarOf builds a raw tar.gz from entries, so tests can write what buildBundle never would. */
function tarOf(entries: { path: string; body?: Buffer; type?: string; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.body ?? Buffer.alloc(0);
    const h = new Header({
      path: e.path,
      mode: 0o644,
      size: e.type && e.type !== 'File' ? 0 : body.length,
      type: (e.type ?? 'File') as 'File',
      linkpath: e.linkpath ?? '',
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    blocks.push(block);
    if (!e.type || e.type === 'File') {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

test('a built bundle reads, verifies and unpacks with every file and its mode', async (t) => {
  const s = setup();
  t.after(() => rmSync(s.dir, { recursive: true, force: true }));
  const file = await build(s);
  const bundle = await readBundle(file);
  assert.equal(bundle.manifest.version, '1.2.0');
  assert.deepEqual(
    bundle.manifest.files.map((f) => f.path),
    ['bin/agent.js', 'bin/palisade-sensor'],
  );
  const trust = resolveTrust(s.pinned, s.trust, NOW);
  assert.equal(verifyBundle(bundle, trust, NOW).version, '1.2.0');
  const versions = join(s.dir, 'versions');
  mkdirSync(versions);
  const dest = await unpackBundle(bundle, versions);
  assert.equal(readFileSync(join(dest, 'bin/agent.js'), 'utf8'), 'console.log("agent")\n');
  assert.equal(statSync(join(dest, 'bin/palisade-sensor')).mode & 0o777, 0o755);
  await assert.rejects(unpackBundle(bundle, versions), /already unpacked/);
});

test('a tampered bundle (one byte changed) is refused before anything is unpacked', async (t) => {
  const s = setup();
  t.after(() => rmSync(s.dir, { recursive: true, force: true }));
  const file = await build(s);
  // Change one byte of a file's content inside the (uncompressed) tar, then recompress.
  const { gunzipSync } = await import('node:zlib');
  const raw = gunzipSync(readFileSync(file));
  const at = raw.indexOf(Buffer.from('console.log'));
  assert.ok(at > 0);
  raw[at] = 'C'.charCodeAt(0);
  const tampered = join(s.dir, 'tampered.tar.gz');
  writeFileSync(tampered, gzipSync(raw));
  await assert.rejects(readBundle(tampered), /bin\/agent.js" does not match its sha256/);
  // A byte changed in the compressed file itself: gzip's check or the tar headers catch it.
  const bytes = readFileSync(file);
  const mid = Math.floor(bytes.length / 2);
  bytes[mid] = (bytes[mid] ?? 0) ^ 0xff;
  const flipped = join(s.dir, 'flipped.tar.gz');
  writeFileSync(flipped, bytes);
  await assert.rejects(readBundle(flipped), /bundle refused/);
  // A manifest edited to match the tampered file fails the signature's manifest hash.
  const b = await readBundle(file);
  const m = JSON.parse(b.manifestBytes.toString());
  m.minKernel = '4.0';
  b.manifestBytes = Buffer.from(JSON.stringify(m));
  assert.throws(() => verifyBundle(b, resolveTrust(s.pinned, s.trust, NOW), NOW), /manifest does not match/);
});

test('unknown, expired, revoked and not-yet-valid keys and expired metadata are refused, naming why', async (t) => {
  const s = setup();
  t.after(() => rmSync(s.dir, { recursive: true, force: true }));
  const trust = () => resolveTrust(s.pinned, s.trust, NOW);
  const stranger = generateKeyPair();
  const unknown = await readBundle(await build(s, '1.2.0', stranger.privateKeyPem));
  assert.throws(() => verifyBundle(unknown, trust(), NOW), /signed by an unknown key/);

  const old = generateKeyPair();
  s.trust.signingKeys.push(
    makeSigningKey(old.publicKey, NOW - 100 * DAY, NOW - DAY, 1, s.root.privateKeyPem),
  );
  const byExpired = await readBundle(await build(s, '1.2.0', old.privateKeyPem));
  assert.throws(() => verifyBundle(byExpired, trust(), NOW), /signing key [0-9a-f]+ expired at/);

  const ok = await readBundle(await build(s));
  s.trust.revocations = makeRevocations(1, [s.signing.keyId], NOW, s.root.privateKeyPem);
  assert.throws(() => verifyBundle(ok, trust(), NOW), /is revoked/);
  // An older revocation list than one already seen is refused (no rolling a revocation back).
  assert.throws(
    () => resolveTrust({ ...s.pinned, revocationsSeq: 2 }, s.trust, NOW),
    /list 1 is older than list 2/,
  );
  delete s.trust.revocations;

  const stale = await readBundle(await build(s, '1.2.0', s.signing.privateKeyPem, NOW + DAY));
  assert.throws(() => verifyBundle(stale, trust(), NOW + 2 * DAY), /release metadata for 1.2.0 expired at/);

  // A signing key certified by a key that is not the root does not count.
  const fake = generateKeyPair();
  const forged = {
    ...s.trust,
    signingKeys: [makeSigningKey(fake.publicKey, NOW - DAY, NOW + DAY, 1, fake.privateKeyPem)],
  };
  const byFake = await readBundle(await build(s, '1.2.0', fake.privateKeyPem));
  assert.throws(() => verifyBundle(byFake, resolveTrust(s.pinned, forged, NOW), NOW), /unknown key/);
});

test('signing-key rotation and root rotation (new root signed by the old) are accepted; a forged root is not', async (t) => {
  const s = setup();
  t.after(() => rmSync(s.dir, { recursive: true, force: true }));
  const next = generateKeyPair();
  s.trust.signingKeys.push(makeSigningKey(next.publicKey, NOW, NOW + 180 * DAY, 1, s.root.privateKeyPem));
  const byNext = await readBundle(await build(s, '1.3.0', next.privateKeyPem));
  assert.equal(verifyBundle(byNext, resolveTrust(s.pinned, s.trust, NOW), NOW).version, '1.3.0');

  const root2 = generateKeyPair();
  const rotated: TrustBundle = {
    roots: [
      ...s.trust.roots,
      makeRoot(2, root2.publicKey, NOW + 730 * DAY, root2.privateKeyPem, s.root.privateKeyPem),
    ],
    signingKeys: [makeSigningKey(next.publicKey, NOW, NOW + 180 * DAY, 2, root2.privateKeyPem)],
  };
  // Even after root 1 expired, an agent pinning it follows the chain to root 2.
  const trust = resolveTrust(s.pinned, rotated, NOW + 400 * DAY - 1);
  assert.equal(trust.root.seq, 2);
  assert.equal(verifyBundle(byNext, resolveTrust(s.pinned, rotated, NOW), NOW).version, '1.3.0');
  // Signing keys certified by the old root stop counting once the root rotated.
  const byOld = await readBundle(await build(s));
  assert.throws(() => verifyBundle(byOld, trust, NOW), /unknown key/);

  const mallory = generateKeyPair();
  const forged: TrustBundle = {
    roots: [
      ...s.trust.roots,
      makeRoot(2, mallory.publicKey, NOW + DAY, mallory.privateKeyPem, mallory.privateKeyPem),
    ],
    signingKeys: [],
  };
  assert.throws(() => resolveTrust(s.pinned, forged, NOW), /root 2 is not signed by root 1/);
  assert.throws(() => resolveTrust(s.pinned, s.trust, NOW + 366 * DAY), /root 1 .* expired at/);
});

test('keys expiring within 30 days are warned about; a signature of one type never verifies as another', () => {
  const root = generateKeyPair();
  const signing = generateKeyPair();
  const bundle: TrustBundle = {
    roots: [makeRoot(1, root.publicKey, NOW + 20 * DAY, root.privateKeyPem)],
    signingKeys: [makeSigningKey(signing.publicKey, NOW, NOW + 60 * DAY, 1, root.privateKeyPem)],
  };
  const w = expiryWarnings(bundle, NOW);
  assert.deepEqual(
    w.map((x) => x.kind),
    ['root'],
  );
  assert.match(w[0]?.message ?? '', /expires in 20 days/);
  assert.deepEqual(
    expiryWarnings(bundle, NOW + 35 * DAY).map((x) => [x.kind, x.expired]),
    [
      ['root', true],
      ['signing-key', false],
    ],
  );
  // Once a successor signing key is certified, the old one's expiry is no longer worth a warning.
  const successor = generateKeyPair();
  const rotated = { ...bundle, roots: [makeRoot(1, root.publicKey, NOW + 400 * DAY, root.privateKeyPem)] };
  assert.deepEqual(
    expiryWarnings(rotated, NOW + 35 * DAY).map((x) => x.kind),
    ['signing-key'],
  );
  rotated.signingKeys = [
    ...rotated.signingKeys,
    makeSigningKey(successor.publicKey, NOW, NOW + 200 * DAY, 1, root.privateKeyPem),
  ];
  assert.deepEqual(expiryWarnings(rotated, NOW + 35 * DAY), []);
  // A signing-key document presented as a root: the type is part of what is signed.
  const asRoot = {
    ...signDocument('signing-key', { seq: 1, publicKey: root.publicKey, expiresAt: NOW + DAY }, [
      root.privateKeyPem,
    ]),
    type: 'root' as const,
  };
  assert.throws(
    () =>
      resolveTrust(
        { seq: 1, publicKey: root.publicKey, revocationsSeq: 0 },
        { roots: [asRoot], signingKeys: [] },
        NOW,
      ),
    /no root document/,
  );
});

test('bad archives are refused with a clear error and nothing written', async (t) => {
  const s = setup();
  t.after(() => rmSync(s.dir, { recursive: true, force: true }));
  const good = await readBundle(await build(s));
  const manifest = good.manifestBytes;
  const sig = Buffer.from(JSON.stringify(good.signature));
  const agentJs = good.files.get('bin/agent.js') as Buffer;
  const helper = good.files.get('bin/palisade-sensor') as Buffer;
  const base = [
    { path: 'manifest.json', body: manifest },
    { path: 'release.sig.json', body: sig },
    { path: 'bin/agent.js', body: agentJs },
    { path: 'bin/palisade-sensor', body: helper },
  ];
  const cases: [string, Buffer, RegExp][] = [
    [
      'dotdot',
      tarOf([...base, { path: '../evil', body: Buffer.from('x') }]),
      /"..\/evil" escapes the directory/,
    ],
    ['absolute', tarOf([...base, { path: '/etc/evil', body: Buffer.from('x') }]), /absolute path/],
    [
      'symlink out',
      tarOf([...base, { path: 'bin/x', type: 'SymbolicLink', linkpath: '../../../etc/passwd' }]),
      /outside the bundle/,
    ],
    [
      'symlink abs',
      tarOf([...base, { path: 'bin/y', type: 'SymbolicLink', linkpath: '/etc/passwd' }]),
      /outside the bundle/,
    ],
    ['missing file', tarOf(base.slice(0, 3)), /"bin\/palisade-sensor" is in the manifest but missing/],
    [
      'extra file',
      tarOf([...base, { path: 'bin/extra', body: Buffer.from('x') }]),
      /"bin\/extra" is in the archive but not in the manifest/,
    ],
    ['no manifest', tarOf(base.slice(1)), /no manifest.json/],
    [
      'malformed manifest',
      tarOf([{ path: 'manifest.json', body: Buffer.from('{"format":1,') }, ...base.slice(1)]),
      /manifest: not JSON/,
    ],
    [
      'manifest bad field',
      tarOf([
        { path: 'manifest.json', body: Buffer.from(manifest.toString().replace('"1.2.0"', '"1.2"')) },
        ...base.slice(1),
      ]),
      /manifest: field version/,
    ],
    ['not gzip', Buffer.from('hello, not an archive'), /not a valid gzip archive/],
  ];
  for (const [name, bytes, expected] of cases) {
    const f = join(s.dir, `${name}.tar.gz`);
    writeFileSync(f, bytes);
    await assert.rejects(readBundle(f), expected, name);
  }
  // Huge: an archive over the limit is refused by size; a small one that inflates past the
  // unpacked limit (a gzip bomb) stops while decompressing.
  const big = join(s.dir, 'big.tar.gz');
  writeFileSync(big, tarOf(base));
  await assert.rejects(
    readBundle(big, {
      maxArchiveBytes: 100,
      maxUnpackedBytes: 1 << 30,
      maxEntryBytes: 1 << 30,
      maxEntries: 10,
    }),
    /more than the limit of 100/,
  );
  const bomb = join(s.dir, 'bomb.tar.gz');
  writeFileSync(
    bomb,
    tarOf([...base.slice(0, 2), { path: 'bin/agent.js', body: Buffer.alloc(8 * 1024 * 1024) }]),
  );
  assert.ok(statSync(bomb).size < 64 * 1024);
  await assert.rejects(
    readBundle(bomb, {
      maxArchiveBytes: 1 << 20,
      maxUnpackedBytes: 1 << 20,
      maxEntryBytes: 1 << 20,
      maxEntries: 10,
    }),
    /more than the limit/,
  );
  const versions = join(s.dir, 'versions');
  assert.equal(existsSync(versions), false);
});
