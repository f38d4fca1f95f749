import { PalisadeError } from '@palisade/common';
import {
  compareVersions,
  type PinnedRoot,
  pinnedFrom,
  readBundle,
  resolveTrust,
  type TrustBundle,
  unpackBundle,
  verifyBundle,
} from '@palisade/release';

/** PrepareInput: a downloaded bundle and what the agent knows to check it with. */
export interface PrepareInput {
  bundleFile: string;
  /** The version the agent runs now. */
  currentVersion: string;
  /** Versions rolled back on this host: never installed again. */
  rolledBack: readonly string[];
  pinned: PinnedRoot;
  trust: TrustBundle;
  /** Where versions live (`/opt/palisade/agent/versions`). */
  versionsDir: string;
  platform: string;
  arch: string;
  now: number;
}

/** Prepared: the new version unpacked beside the current one, and the root to pin from now on. */
export interface Prepared {
  version: string;
  dir: string;
  entry: string;
  pinned: PinnedRoot;
}

/**
 * prepareUpdate checks a downloaded bundle completely before anything is written: the trust chain
 * from the pinned root, every file's size and hash, the release signature (unknown, expired or
 * revoked keys and expired metadata are refused), the platform, and that the version is newer than
 * the current one and was not rolled back here. Only then is it unpacked beside the current
 * version. A refusal throws a PalisadeError whose message says why; the running version is not
 * touched either way.
 */
export async function prepareUpdate(i: PrepareInput): Promise<Prepared> {
  const trust = resolveTrust(i.pinned, i.trust, i.now);
  const bundle = await readBundle(i.bundleFile);
  verifyBundle(bundle, trust, i.now);
  const m = bundle.manifest;
  const refuse = (why: string) =>
    new PalisadeError('validation_failed', `update to ${m.version} refused: ${why}`);
  if (m.platform !== i.platform || m.arch !== i.arch)
    throw refuse(`the bundle is for ${m.platform}/${m.arch}, this host is ${i.platform}/${i.arch}`);
  if (compareVersions(m.version, i.currentVersion) <= 0)
    throw refuse(`it is not newer than the running ${i.currentVersion}`);
  if (i.rolledBack.includes(m.version)) throw refuse('it was rolled back on this host before');
  const dir = await unpackBundle(bundle, i.versionsDir);
  return { version: m.version, dir, entry: m.entry, pinned: pinnedFrom(trust) };
}
