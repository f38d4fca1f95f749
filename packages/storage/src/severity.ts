import { ALERT_SEVERITIES } from './alert-types.js';
import type { Severity } from './playbook-types.js';

/** SEVERITIES are the alert severities, lowest first; index + 1 is the OCSF severity_id. */
export const SEVERITIES: readonly Severity[] = ALERT_SEVERITIES;

/** severityRank is a severity's OCSF severity_id (1 informational ... 5 critical). */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s) + 1;
}
