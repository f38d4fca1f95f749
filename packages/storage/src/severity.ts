import type { Severity } from './playbook-types.js';

/** SEVERITIES are the alert severities, lowest first; index + 1 is the OCSF severity_id. */
export const SEVERITIES: readonly Severity[] = ['informational', 'low', 'medium', 'high', 'critical'];

/** severityRank is a severity's OCSF severity_id (1 informational ... 5 critical). */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s) + 1;
}
