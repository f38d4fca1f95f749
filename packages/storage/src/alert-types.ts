/**
 * The alert contract: what detection stores when a rule fires, and what triage, the console and
 * playbooks read. Alerts are rendered as OCSF Detection Findings (class 2004) by the server; the
 * record keeps the facts the rendering needs, and each alert's evidence names the matching
 * events' processes and files directly, so a responder (or a playbook) can act on them without
 * decoding events.
 */

/** AlertStatus is where an alert is in triage (OCSF finding status New, In Progress, Resolved, Suppressed). */
export type AlertStatus = 'new' | 'in_progress' | 'resolved' | 'suppressed';

/** ALERT_STATUSES in triage order. */
export const ALERT_STATUSES: readonly AlertStatus[] = ['new', 'in_progress', 'resolved', 'suppressed'];

/** AlertSeverity is the Sigma rule's level. */
export type AlertSeverity = 'informational' | 'low' | 'medium' | 'high' | 'critical';

/** ALERT_SEVERITIES from least to most severe. */
export const ALERT_SEVERITIES: readonly AlertSeverity[] = [
  'informational',
  'low',
  'medium',
  'high',
  'critical',
];

/**
 * ALERT_EVIDENCE_CAP is the most evidence items one alert keeps: the first ones seen. Repeats
 * beyond it only raise `count` (and `droppedEvidence`), so a noisy rule cannot grow a row without bound.
 */
export const ALERT_EVIDENCE_CAP = 20;

/** EvidenceProcess is a process as evidence: enough to find it (pid + start time) and to act on it. */
export interface EvidenceProcess {
  pid: number;
  /** Process start time, ms since the epoch (null when the sensor did not know it). */
  startTimeMs: number | null;
  /** The account it ran as: numeric user id as text ("0"), null when unknown. */
  uid: string | null;
  /** The account name, when known. */
  userName: string | null;
  /** The executable. */
  path: string;
  cmdLine: string;
  name: string;
  /** The agent's stable process id (survives pid reuse), when the sensor gave one. */
  processUid: string | null;
}

/** AlertEvidence is one matching event, summarised; `eventId` reads the whole event (Storage.getEvents). */
export interface AlertEvidence {
  /** The stored event's id (as in event search), null for a contributor no longer known. */
  eventId: string | null;
  agentId: string;
  /** Event time, ms. */
  timeMs: number;
  classUid: number;
  activityId: number;
  /** The Sigma log source it matched in (process_creation, file_event, auditd, ...). */
  logsource: string;
  /** The rule this event matched (for a correlation: the contributing rule). */
  ruleId: string;
  /** The process the event is about (launched process; for file/network/auth: the actor). */
  process: EvidenceProcess | null;
  /** Its parent (for a launch: the process that launched it). */
  parentProcess: EvidenceProcess | null;
  /** The file of a file event (for a rename: the old name; `newPath` the new one). */
  file: { path: string; newPath: string | null } | null;
  network: { srcIp: string; srcPort: number; dstIp: string; dstPort: number; dstHostname: string } | null;
  /** The log line of an authentication event. */
  rawData: string | null;
}

/** AlertRecord is one alert: a rule that fired on a host, with its repeats folded in. */
export interface AlertRecord {
  /** A UUID; also the OCSF finding_info.uid. */
  id: string;
  agentId: string;
  hostname: string;
  ruleId: string;
  ruleTitle: string;
  ruleKind: 'detection' | 'correlation';
  /** The rule's description, when it has one. */
  ruleDescription: string | null;
  severity: AlertSeverity;
  status: AlertStatus;
  assignee: string | null;
  comment: string | null;
  /** MITRE ATT&CK from the rule's tags: tactic names (e.g. "execution") and technique ids ("T1059.004"). */
  tactics: string[];
  techniques: string[];
  /**
   * What folds repeats: the agent, the rule and (for a correlation) its group-by values. A match
   * whose key equals an alert's that is not resolved and was last seen within the grouping window
   * raises that alert's count instead of creating a new one.
   */
  groupKey: string;
  /** How many matches this alert stands for (1 when new). */
  count: number;
  /** Event times of the first and the latest match, ms. */
  firstSeenMs: number;
  lastSeenMs: number;
  /** Server times: stored, and last changed (a fold or a triage update). */
  createdAt: number;
  updatedAt: number;
  /** The first ALERT_EVIDENCE_CAP matching events, oldest first. */
  evidence: AlertEvidence[];
  /** Matching events not kept as evidence (beyond the cap). */
  droppedEvidence: number;
}

/**
 * NewAlert is one alert candidate from a detection pass: `count` matches of one group key
 * (already folded within the pass). Storage either creates an alert from it or folds it into the
 * open alert of the same key.
 */
export type NewAlert = Omit<AlertRecord, 'status' | 'assignee' | 'comment' | 'createdAt' | 'updatedAt'>;

/** DetectionCursor is how far detection has read the stored batches (their commit order). */
export interface DetectionCursor {
  /** The last stored batch evaluated (0 = none); batches with a higher `batchId` are still to do. */
  batchId: number;
  updatedAt: number;
}

/** DetectionCommit is one detection pass's result: the alerts it found and the cursor after it. */
export interface DetectionCommit {
  /** The cursor the pass started from: the commit is refused (conflict) if the stored one differs. */
  from: number;
  /** The cursor after the pass (the last batch it evaluated). */
  to: number;
  alerts: NewAlert[];
  /** Repeats within this window (ms, event time) of an open alert's last match fold into it. */
  groupWindowMs: number;
  /** Server time of the commit. */
  at: number;
}

/** AlertChange is what a commit did to one alert: created it, or folded matches into it. */
export interface AlertChange {
  change: 'created' | 'folded';
  alert: AlertRecord;
}

/** StoredBatchBody is one stored batch as detection reads it, in commit order. */
export interface StoredBatchBody {
  /** Position in commit order (increasing); the detection cursor counts these. */
  batchId: number;
  agentId: string;
  seq: bigint;
  receivedAt: number;
  eventCount: number;
  /** The EventBatch protobuf (uncompressed), null for an empty batch or one that cannot be read. */
  body: Uint8Array | null;
  /** Why the body could not be read (damaged on disk), when it could not. */
  unreadable?: string;
}

/** DetectionLag is how far detection is behind the newest stored batch. */
export interface DetectionLag {
  cursor: number;
  newestBatchId: number;
  batches: number;
  events: number;
  /** Receive time of the oldest batch not yet evaluated (null when none waits). */
  oldestPendingReceivedAt: number | null;
}

/** AlertQuery filters the alert list; alerts come back newest first (by creation). */
export interface AlertQuery {
  agentId?: string;
  ruleId?: string;
  severity?: AlertSeverity;
  /** At least this severity. */
  minSeverity?: AlertSeverity;
  status?: AlertStatus;
  /** Alerts last seen at or after this time (ms). */
  fromMs?: number;
  /** Alerts first seen before this time (ms). */
  toMs?: number;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** AlertPage is one page of alerts. */
export interface AlertPage {
  alerts: AlertRecord[];
  /** Present when more alerts may follow. */
  nextCursor?: string;
}

/** AlertPatch is what triage may change. `null` clears assignee or comment. */
export interface AlertPatch {
  status?: AlertStatus;
  assignee?: string | null;
  comment?: string | null;
}
