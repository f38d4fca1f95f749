import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** readKey reads the default registration key a fresh server wrote to its data dir. */
export function readKey(dataDir: string): string {
  return readFileSync(join(dataDir, 'registration-key'), 'utf8').trim();
}
