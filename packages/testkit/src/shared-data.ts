import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** REPO_ROOT is the repository this testkit was built in. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * sharedDataCandidates lists, in order, where the project's shared reference data may live:
 * PALISADE_SHARED_DATA, then `<repo>/../shared/data` (CI and every checkout: shared/ is a sibling
 * of the repository).
 */
export function sharedDataCandidates(): string[] {
  const out: string[] = [];
  if (process.env.PALISADE_SHARED_DATA) out.push(resolve(process.env.PALISADE_SHARED_DATA));
  out.push(resolve(REPO_ROOT, '../shared/data'));
  return out;
}

/**
 * sharedDataDir returns the shared reference data folder that holds `sub` (for example
 * 'sigma/rules' or 'ocsf/dictionary.json'), or throws an error naming every place it looked: a
 * test that needs the data must fail clearly when it is absent, never pass silently.
 */
export function sharedDataDir(sub = ''): string {
  const tried = sharedDataCandidates();
  for (const dir of tried) if (existsSync(join(dir, sub))) return dir;
  throw new Error(
    `shared reference data (${sub || 'the folder'}) not found; looked in ${tried.join(', ')} — set PALISADE_SHARED_DATA`,
  );
}
