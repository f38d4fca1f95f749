import type { Severity } from '@palisade/storage';

/**
 * PlaybookAlert is what a playbook sees of an alert: the facts it matches on and the OCSF
 * Detection Finding (class 2004) itself, whose evidence names the process and file to act on and
 * which webhooks send as it is.
 */
export interface PlaybookAlert {
  id: string;
  agentId: string;
  ruleId: string;
  ruleTitle: string;
  /** The rule's tags (attack.t1059, ...), lower case. */
  tags: string[];
  severity: Severity;
  finding: Record<string, unknown>;
}

/** AlertHost is where the alert was raised, from the agent's record. */
export interface AlertHost {
  agentId: string;
  hostname: string;
  groupId: string;
}
