import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PalisadeError } from '@palisade/common';
import type { Bundle } from './bundle-read.js';
import { parseVersion } from './version.js';

/**
 * unpackBundle writes a read and verified bundle to `versionsDir/<version>`: first into a
 * scratch directory beside it, then renamed into place, so a failure leaves no half version.
 * Refuses to replace a version directory that exists. Returns the version directory.
 */
export async function unpackBundle(bundle: Bundle, versionsDir: string): Promise<string> {
  const version = bundle.manifest.version;
  parseVersion(version);
  const dest = join(versionsDir, version);
  const exists = await stat(dest).then(
    () => true,
    () => false,
  );
  if (exists) throw new PalisadeError('conflict', `version ${version} is already unpacked at ${dest}`);
  const scratch = join(versionsDir, `.unpack-${version}-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  try {
    for (const f of bundle.manifest.files) {
      const target = join(scratch, f.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, bundle.files.get(f.path) as Buffer, { mode: f.executable ? 0o755 : 0o644 });
    }
    await writeFile(join(scratch, 'manifest.json'), bundle.manifestBytes, { mode: 0o644 });
    await rename(scratch, dest);
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
  return dest;
}
