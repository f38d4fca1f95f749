import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { PalisadeError } from '@palisade/common';
import { Parser, type ReadEntry } from 'tar';
import {
  checkRelativePath,
  MANIFEST_NAME,
  type Manifest,
  parseManifest,
  SIGNATURE_NAME,
} from './manifest.js';
import { type Envelope, parseEnvelope } from './signing.js';
import { type ReleaseDoc, type Trust, verifyRelease } from './trust.js';

/** BundleLimits bound what reading a bundle may cost, before anything is trusted. */
export interface BundleLimits {
  /** The archive file. @default 256 MiB */
  maxArchiveBytes: number;
  /** All entries together, unpacked. @default 1 GiB */
  maxUnpackedBytes: number;
  /** One entry. @default 256 MiB */
  maxEntryBytes: number;
  /** @default 20000 */
  maxEntries: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  maxArchiveBytes: 256 * 1024 * 1024,
  maxUnpackedBytes: 1024 * 1024 * 1024,
  maxEntryBytes: 256 * 1024 * 1024,
  maxEntries: 20_000,
};

/** Bundle is a bundle read into memory and checked: its manifest, signature and file contents. */
export interface Bundle {
  manifest: Manifest;
  manifestBytes: Buffer;
  signature: Envelope;
  files: Map<string, Buffer>;
}

const refuse = (why: string) => new PalisadeError('validation_failed', `bundle refused: ${why}`);

/**
 * readBundle reads a bundle archive into memory without writing anything to disk, refusing: an
 * archive or entry over the limits (counted while decompressing, so a gzip bomb stops early), an
 * absolute path or one with "..", a symbolic or hard link (a link inside stays refused too: a
 * bundle holds regular files and directories), devices and other entry types, an entry twice, a
 * malformed manifest or signature, a file the manifest does not list or one it lists but the
 * archive lacks, and a file whose size or sha256 differs from the manifest.
 */
export async function readBundle(
  file: string,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
): Promise<Bundle> {
  const st = await stat(file);
  if (st.size > limits.maxArchiveBytes)
    throw refuse(`the archive is ${st.size} bytes, more than the limit of ${limits.maxArchiveBytes}`);
  const contents = new Map<string, Buffer>();
  let unpacked = 0;
  let entries = 0;
  await new Promise<void>((resolve, reject) => {
    let failed: Error | undefined;
    const input = createReadStream(file);
    const gunzip = createGunzip();
    const parser = new Parser({ strict: true });
    const stop = (err: Error) => {
      if (failed) return;
      failed = err;
      input.destroy();
      gunzip.destroy();
      reject(err);
    };
    let inflated = 0;
    gunzip.on('data', (chunk: Buffer) => {
      inflated += chunk.length;
      if (inflated > limits.maxUnpackedBytes + 1024 * 1024)
        stop(refuse(`it unpacks to more than the limit of ${limits.maxUnpackedBytes} bytes`));
    });
    parser.on('entry', (entry: ReadEntry) => {
      if (failed) return entry.resume();
      entries++;
      const name = entry.path.replace(/\/+$/, '');
      try {
        if (entries > limits.maxEntries) throw refuse(`more than ${limits.maxEntries} entries`);
        if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
          const target = entry.linkpath ?? '';
          const resolved = posix.normalize(posix.join(posix.dirname(name), target));
          const outside = target.startsWith('/') || resolved === '..' || resolved.startsWith('../');
          throw refuse(
            outside
              ? `${JSON.stringify(name)} is a link to ${JSON.stringify(target)}, outside the bundle`
              : `${JSON.stringify(name)} is a link; a bundle holds only regular files and directories`,
          );
        }
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory')
          throw refuse(`${JSON.stringify(name)} is a ${entry.type} entry`);
        if (name.startsWith('/') || /^[A-Za-z]:/.test(name))
          throw refuse(`${JSON.stringify(name)} is an absolute path`);
        if (name.split('/').includes('..'))
          throw refuse(`${JSON.stringify(name)} escapes the directory (..)`);
        if (entry.type === 'Directory') return entry.resume();
        checkRelativePath(name, 'entry');
        if (contents.has(name)) throw refuse(`${JSON.stringify(name)} appears twice`);
        const size = entry.size ?? 0;
        if (size > limits.maxEntryBytes)
          throw refuse(
            `${JSON.stringify(name)} is ${size} bytes, more than the limit of ${limits.maxEntryBytes}`,
          );
        unpacked += size;
        if (unpacked > limits.maxUnpackedBytes)
          throw refuse(`it unpacks to more than the limit of ${limits.maxUnpackedBytes} bytes`);
      } catch (err) {
        entry.resume();
        return stop(err instanceof PalisadeError ? err : refuse((err as Error).message));
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => contents.set(name, Buffer.concat(chunks)));
    });
    parser.on('warn', (_code: string, message: string | Error) =>
      stop(refuse(`not a valid tar archive (${typeof message === 'string' ? message : message.message})`)),
    );
    parser.on('error', (err: Error) => stop(refuse(`not a valid tar archive (${err.message})`)));
    input.on('error', stop);
    gunzip.on('error', (err) => stop(refuse(`not a valid gzip archive (${err.message})`)));
    parser.on('end', () => {
      if (!failed) resolve();
    });
    input.pipe(gunzip).pipe(parser);
  });
  const manifestBytes = contents.get(MANIFEST_NAME);
  if (!manifestBytes) throw refuse(`it has no ${MANIFEST_NAME}`);
  const sigBytes = contents.get(SIGNATURE_NAME);
  if (!sigBytes) throw refuse(`it has no ${SIGNATURE_NAME}`);
  let manifest: Manifest;
  let signature: Envelope;
  try {
    manifest = parseManifest(manifestBytes);
    signature = parseEnvelope(JSON.parse(sigBytes.toString('utf8')), SIGNATURE_NAME);
  } catch (err) {
    throw refuse((err as Error).message);
  }
  const files = new Map<string, Buffer>();
  for (const f of manifest.files) {
    const bytes = contents.get(f.path);
    if (!bytes) throw refuse(`${JSON.stringify(f.path)} is in the manifest but missing from the archive`);
    if (bytes.length !== f.size)
      throw refuse(`${JSON.stringify(f.path)} is ${bytes.length} bytes, the manifest says ${f.size}`);
    if (createHash('sha256').update(bytes).digest('hex') !== f.sha256)
      throw refuse(`${JSON.stringify(f.path)} does not match its sha256 in the manifest`);
    files.set(f.path, bytes);
  }
  for (const name of contents.keys()) {
    if (name !== MANIFEST_NAME && name !== SIGNATURE_NAME && !files.has(name))
      throw refuse(`${JSON.stringify(name)} is in the archive but not in the manifest`);
  }
  return { manifest, manifestBytes, signature, files };
}

/**
 * verifyBundle checks a read bundle's signature against trust at `now` and that the signed
 * metadata says what the manifest says (version, platform, arch, minimum kernel).
 */
export function verifyBundle(bundle: Bundle, trust: Trust, now: number): ReleaseDoc {
  const doc = verifyRelease(bundle.signature, bundle.manifestBytes, trust, now);
  const m = bundle.manifest;
  if (
    doc.version !== m.version ||
    doc.platform !== m.platform ||
    doc.arch !== m.arch ||
    doc.minKernel !== m.minKernel
  )
    throw refuse('the signed metadata and the manifest disagree about what the bundle is');
  return doc;
}
