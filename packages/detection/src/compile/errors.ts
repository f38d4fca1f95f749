/**
 * RuleProblem is why a rule is not loaded. `kind` tells an error in the rule (it is wrong)
 * from a rule Palisade does not support (it is valid Sigma but cannot run here); `path` is the
 * YAML path of the offending field, used to find its line.
 */
export class RuleProblem extends Error {
  constructor(
    readonly kind: 'error' | 'unsupported',
    message: string,
    readonly path: (string | number)[] = [],
  ) {
    super(message);
    this.name = 'RuleProblem';
  }
}

export function ruleError(message: string, path: (string | number)[] = []): RuleProblem {
  return new RuleProblem('error', message, path);
}

export function unsupported(message: string, path: (string | number)[] = []): RuleProblem {
  return new RuleProblem('unsupported', message, path);
}
