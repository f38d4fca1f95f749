import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Policy, PolicySchema, create, fromBinary, toBinary } from '@palisade/protocol';

const FILE = 'policy.bin';

/**
 * loadSavedPolicy returns the last server policy this agent applied, so that after a restart
 * without a server it starts in the tier it ran before. A missing or unreadable file yields
 * undefined: the policy is refreshed at the next check-in anyway.
 */
export function loadSavedPolicy(stateDir: string): Policy | undefined {
  try {
    return fromBinary(PolicySchema, readFileSync(join(stateDir, FILE)));
  } catch {
    return undefined;
  }
}

/** savePolicy stores the applied server policy (atomically). */
export function savePolicy(stateDir: string, policy: Policy): void {
  const path = join(stateDir, FILE);
  writeFileSync(`${path}.tmp`, toBinary(PolicySchema, create(PolicySchema, policy)), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
