import type { AlertSeverity } from './alert-types.js';

/** Severity is an alert severity (Sigma levels; OCSF severity_id 1-5): the alerts' own. */
export type Severity = AlertSeverity;

/** PlaybookActionType is what a playbook can do when it runs. */
export type PlaybookActionType = 'isolate' | 'kill_process' | 'quarantine_file' | 'webhook';

/** PlaybookAction is one step of a playbook. */
export type PlaybookAction =
  | { type: 'isolate' }
  | { type: 'kill_process'; tree: boolean }
  | { type: 'quarantine_file' }
  | { type: 'webhook'; url: string };

/**
 * PlaybookMatch says which alerts a playbook answers. Every non-empty list must contain the
 * alert's value (rule ids and tags: any of them), and the alert must be at least `minSeverity`.
 */
export interface PlaybookMatch {
  ruleIds: string[];
  tags: string[];
  minSeverity: Severity;
  /** Agent group ids. */
  groupIds: string[];
  /** Host names (compared case-insensitively) or agent ids. */
  hosts: string[];
}

/** PlaybookRecord is one playbook, as stored. */
export interface PlaybookRecord {
  /** A UUID. */
  id: string;
  /** Unique. */
  name: string;
  description: string;
  enabled: boolean;
  /** Runs record what they would do and do nothing. */
  dryRun: boolean;
  match: PlaybookMatch;
  actions: PlaybookAction[];
  /** At most this many isolations per hour by this playbook, across the fleet. */
  maxIsolationsPerHour: number;
  /** At most this many runs that act (not dry, not refused) per hour. */
  maxRunsPerHour: number;
  /** The webhook signing secret, sealed by the server (null without a webhook action). */
  webhookSecretSealed: string | null;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
}

/** PlaybookPatch is what can change on a playbook after it is made. */
export type PlaybookPatch = Partial<Pick<PlaybookRecord, 'enabled' | 'dryRun' | 'updatedAt'>>;

/**
 * PlaybookStepStatus is what became of one action in one run: `issued` (a response command was
 * stored: commandId), `would_run` (dry run), `rate_limited`, `refused` (the response service or
 * the evidence said no: detail), `skipped` (nothing in the alert to act on), `queued`, `sent`
 * or `failed` (webhooks).
 */
export type PlaybookStepStatus =
  | 'issued'
  | 'would_run'
  | 'rate_limited'
  | 'refused'
  | 'skipped'
  | 'queued'
  | 'sent'
  | 'failed';

/** PlaybookStep is one action of one run and its outcome. */
export interface PlaybookStep {
  type: PlaybookActionType;
  status: PlaybookStepStatus;
  /** Why (refused, rate limited, failed), or what (the target, the HTTP status). */
  detail: string;
  commandId: string | null;
  /** Webhooks: how many attempts were made. */
  attempts: number;
}

/** PlaybookRunRecord is one playbook run for one alert. */
export interface PlaybookRunRecord {
  /** A UUID. */
  id: string;
  playbookId: string;
  playbookName: string;
  alertId: string;
  agentId: string;
  ruleId: string;
  at: number;
  dryRun: boolean;
  /** Whether an isolate command was issued (counts against the isolation limits). */
  isolated: boolean;
  /** Whether the run acted (not a dry run, not refused by the run limit). */
  acted: boolean;
  steps: PlaybookStep[];
}

/** PlaybookRunQuery filters runs; they come back newest first. */
export interface PlaybookRunQuery {
  playbookId?: string;
  alertId?: string;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** PlaybookRunPage is one page of runs. */
export interface PlaybookRunPage {
  runs: PlaybookRunRecord[];
  nextCursor?: string;
}

/** PlaybookRunCount counts runs since a time (for the rate limits). */
export interface PlaybookRunCount {
  since: number;
  /** Only this playbook's runs; all playbooks when absent. */
  playbookId?: string;
  /** Only runs that issued an isolation. */
  isolated?: boolean;
  /** Only runs that acted. */
  acted?: boolean;
}
