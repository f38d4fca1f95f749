import { PalisadeError } from '@palisade/common';
import { isVersion } from './version.js';

/** MANIFEST_NAME and SIGNATURE_NAME are the two files at the top of every bundle. */
export const MANIFEST_NAME = 'manifest.json';
export const SIGNATURE_NAME = 'release.sig.json';

/** ManifestFile is one file of a bundle, as its manifest describes it. */
export interface ManifestFile {
  /** Relative path inside the version directory, "/" separated. */
  path: string;
  sha256: string;
  size: number;
  /** Whether the file is executable (mode 0755 instead of 0644). */
  executable: boolean;
}

/** Manifest describes one agent bundle: what it is and every file it holds. */
export interface Manifest {
  format: 1;
  product: 'palisade-agent';
  version: string;
  platform: string;
  arch: string;
  /** Lowest kernel release the bundle runs on (its eBPF helper's needs), "5.8". */
  minKernel: string;
  /** Path of the entry point (relative), what the launcher runs with node. */
  entry: string;
  files: ManifestFile[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const KERNEL = /^\d{1,3}\.\d{1,3}(\.\d{1,3})?$/;
const WORD = /^[a-z0-9_]{1,16}$/;
/** MAX_FILES bounds a manifest's file list. */
export const MAX_FILES = 20_000;
const MAX_PATH = 400;

function bad(field: string, why: string): PalisadeError {
  return new PalisadeError('validation_failed', `manifest: field ${field}: ${why}`);
}

/**
 * checkRelativePath refuses what could leave the directory a bundle is unpacked into: an empty or
 * absolute path, a backslash, a NUL, "." or ".." segments, an empty segment ("a//b").
 */
export function checkRelativePath(p: string, field: string): void {
  if (typeof p !== 'string' || p.length === 0 || p.length > MAX_PATH)
    throw bad(field, `must be a path of 1-${MAX_PATH} characters`);
  if (p.startsWith('/')) throw bad(field, `${JSON.stringify(p)} is absolute`);
  if (p.includes('\\') || p.includes('\0')) throw bad(field, `${JSON.stringify(p)} holds a backslash or NUL`);
  for (const seg of p.split('/')) {
    if (seg === '..') throw bad(field, `${JSON.stringify(p)} escapes the directory (..)`);
    if (seg === '' || seg === '.') throw bad(field, `${JSON.stringify(p)} has an empty or "." segment`);
  }
}

/** parseManifest reads a manifest's JSON bytes and checks every field, naming the first one wrong. */
export function parseManifest(bytes: Uint8Array): Manifest {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new PalisadeError('validation_failed', `manifest: not JSON (${(err as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('(root)', 'must be an object');
  const o = v as Record<string, unknown>;
  const known = new Set(['format', 'product', 'version', 'platform', 'arch', 'minKernel', 'entry', 'files']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw bad(k, 'is not a manifest field');
  if (o.format !== 1) throw bad('format', `${JSON.stringify(o.format)} is not 1`);
  if (o.product !== 'palisade-agent') throw bad('product', 'must be "palisade-agent"');
  if (typeof o.version !== 'string' || !isVersion(o.version)) throw bad('version', 'must be X.Y.Z');
  if (typeof o.platform !== 'string' || !WORD.test(o.platform)) throw bad('platform', 'must be like "linux"');
  if (typeof o.arch !== 'string' || !WORD.test(o.arch)) throw bad('arch', 'must be like "x64"');
  if (typeof o.minKernel !== 'string' || !KERNEL.test(o.minKernel))
    throw bad('minKernel', 'must be like "5.8"');
  if (typeof o.entry !== 'string') throw bad('entry', 'must be a path');
  checkRelativePath(o.entry, 'entry');
  if (!Array.isArray(o.files) || o.files.length === 0) throw bad('files', 'must be a non-empty list');
  if (o.files.length > MAX_FILES) throw bad('files', `lists more than ${MAX_FILES} files`);
  const seen = new Set<string>();
  const files: ManifestFile[] = o.files.map((f: unknown, i: number) => {
    const field = `files[${i}]`;
    if (typeof f !== 'object' || f === null) throw bad(field, 'must be an object');
    const e = f as Record<string, unknown>;
    for (const k of Object.keys(e))
      if (!['path', 'sha256', 'size', 'executable'].includes(k))
        throw bad(`${field}.${k}`, 'is not a file field');
    if (typeof e.path !== 'string') throw bad(`${field}.path`, 'must be a path');
    checkRelativePath(e.path, `${field}.path`);
    if (e.path === MANIFEST_NAME || e.path === SIGNATURE_NAME)
      throw bad(`${field}.path`, 'names a reserved file');
    if (seen.has(e.path)) throw bad(`${field}.path`, `${JSON.stringify(e.path)} is listed twice`);
    seen.add(e.path);
    if (typeof e.sha256 !== 'string' || !SHA256_HEX.test(e.sha256))
      throw bad(`${field}.sha256`, 'must be lowercase hex sha256');
    if (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0)
      throw bad(`${field}.size`, 'must be a byte count');
    if (typeof e.executable !== 'boolean') throw bad(`${field}.executable`, 'must be true or false');
    return { path: e.path, sha256: e.sha256, size: e.size, executable: e.executable };
  });
  if (!seen.has(o.entry)) throw bad('entry', `${JSON.stringify(o.entry)} is not one of the files`);
  return {
    format: 1,
    product: 'palisade-agent',
    version: o.version,
    platform: o.platform,
    arch: o.arch,
    minKernel: o.minKernel,
    entry: o.entry,
    files,
  };
}
