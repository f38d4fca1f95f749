import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RULES_DIR } from '@palisade/detection/files';
import type { RulesConfig } from './thread-protocol.js';

/**
 * detectionRules lists where the server loads rules from: the default pack (unless turned off),
 * `<dataDir>/rules` (created, 0700, for rules added by hand or later through the API) and the
 * configured rule directories, in that order.
 */
export function detectionRules(
  dataDir: string,
  opts: { rulesDirs?: string[]; defaultPack?: boolean; disabled?: string[] } = {},
): RulesConfig {
  const own = join(dataDir, 'rules');
  mkdirSync(own, { recursive: true, mode: 0o700 });
  return {
    paths: [...(opts.defaultPack === false ? [] : [DEFAULT_RULES_DIR]), own, ...(opts.rulesDirs ?? [])],
    disabled: opts.disabled ?? [],
  };
}
