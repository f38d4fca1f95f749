import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { create } from 'tar';
import {
  checkRelativePath,
  MANIFEST_NAME,
  type Manifest,
  type ManifestFile,
  SIGNATURE_NAME,
} from './manifest.js';
import { makeRelease } from './trust.js';

/** BundleSource is one file to put in a bundle: its path in the bundle and where it is now. */
export interface BundleSource {
  path: string;
  source: string;
}

/** BuildOptions: what the bundle is, its files, the signing key, and where to write it. */
export interface BuildOptions {
  version: string;
  platform: string;
  arch: string;
  minKernel: string;
  entry: string;
  files: BundleSource[];
  signingKeyPem: string;
  /** When the signed metadata expires (agents refuse it after). */
  expiresAt: number;
  now: number;
  /** Output archive (.tar.gz). */
  out: string;
  /** A scratch directory the archive is assembled in (removed afterwards). */
  workDir: string;
}

/** BuildResult is the manifest written and the archive's sha256 and size. */
export interface BuildResult {
  manifest: Manifest;
  sha256: string;
  size: number;
}

/**
 * buildBundle writes a signed agent bundle: a gzip'd tar of manifest.json, release.sig.json (the
 * release metadata signed with the signing key, binding the manifest's sha256) and the files,
 * each listed in the manifest with its sha256, size and whether it is executable. Symbolic links
 * are followed: a bundle holds only regular files and directories.
 */
export async function buildBundle(o: BuildOptions): Promise<BuildResult> {
  const entries: ManifestFile[] = [];
  await rm(o.workDir, { recursive: true, force: true });
  for (const f of [...o.files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    checkRelativePath(f.path, `file ${f.path}`);
    const bytes = await readFile(f.source);
    const st = await stat(f.source);
    const dest = join(o.workDir, f.path);
    await mkdir(dirname(dest), { recursive: true });
    const executable = (st.mode & 0o111) !== 0;
    await writeFile(dest, bytes, { mode: executable ? 0o755 : 0o644 });
    entries.push({
      path: f.path,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      executable,
    });
  }
  const manifest: Manifest = {
    format: 1,
    product: 'palisade-agent',
    version: o.version,
    platform: o.platform,
    arch: o.arch,
    minKernel: o.minKernel,
    entry: o.entry,
    files: entries,
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
  await writeFile(join(o.workDir, MANIFEST_NAME), manifestBytes);
  const sig = makeRelease(
    {
      version: o.version,
      platform: o.platform,
      arch: o.arch,
      minKernel: o.minKernel,
      manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'),
      issuedAt: o.now,
      expiresAt: o.expiresAt,
    },
    o.signingKeyPem,
  );
  await writeFile(join(o.workDir, SIGNATURE_NAME), JSON.stringify(sig));
  await mkdir(dirname(o.out), { recursive: true });
  await create({ gzip: true, file: o.out, cwd: o.workDir, portable: true, noDirRecurse: false }, [
    MANIFEST_NAME,
    SIGNATURE_NAME,
    ...entries.map((e) => e.path),
  ]);
  await rm(o.workDir, { recursive: true, force: true });
  const archive = await readFile(o.out);
  return { manifest, sha256: createHash('sha256').update(archive).digest('hex'), size: archive.length };
}
