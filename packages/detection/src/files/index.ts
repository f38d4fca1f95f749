import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** RuleFile is a rule file read from disk (the shape compileRuleSet takes). */
export interface RuleFile {
  path: string;
  text: string;
}

/** DEFAULT_RULES_DIR is Palisade's own rule pack, shipped with this package. */
export const DEFAULT_RULES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../rules');

const RULE_EXT = /\.ya?ml$/i;

/**
 * readRuleFiles reads rule files: each path is a file or a directory searched recursively for
 * `*.yml`/`*.yaml` (hidden entries and `tests/` folders are skipped; so is a SigmaHQ clone's
 * non-rule YAML when given its rules folders). Files larger than `maxBytes` are returned with an
 * empty text and an error so that the loader reports them. Unreadable paths throw with the path.
 */
export function readRuleFiles(
  paths: string[],
  maxBytes = 1 << 20,
): { files: RuleFile[]; errors: { path: string; message: string }[] } {
  const files: RuleFile[] = [];
  const errors: { path: string; message: string }[] = [];
  const visit = (p: string, top: boolean) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch (e) {
      errors.push({
        path: p,
        message:
          (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message,
      });
      return;
    }
    if (st.isDirectory()) {
      const names = readdirSync(p).sort();
      for (const n of names) {
        if (n.startsWith('.')) continue;
        const child = join(p, n);
        let cst: ReturnType<typeof statSync>;
        try {
          cst = statSync(child);
        } catch {
          continue;
        }
        if (cst.isDirectory()) {
          if (n !== 'tests' && n !== 'node_modules') visit(child, false);
        } else if (RULE_EXT.test(n)) visit(child, false);
      }
      return;
    }
    if (!top && !RULE_EXT.test(p)) return;
    if (st.size > maxBytes) {
      errors.push({ path: p, message: `rule file is ${st.size} bytes, more than the limit of ${maxBytes}` });
      return;
    }
    try {
      files.push({ path: p, text: readFileSync(p, 'utf8') });
    } catch (e) {
      errors.push({ path: p, message: (e as Error).message });
    }
  };
  for (const p of paths) visit(resolve(p), true);
  return { files, errors };
}
