import type {
  AgentCredential,
  AgentRecord,
  AgentTouch,
  ApiTokenRecord,
  AuditPage,
  AuditQuery,
  BatchResult,
  CapabilityRecord,
  EventPage,
  EventQuery,
  GroupPolicy,
  GroupRecord,
  HostFactsRecord,
  IncomingBatch,
  NewAuditRecord,
  PendingCertificate,
  RegistrationKeyRecord,
  StorageHealth,
} from './types.js';
import type {
  ActualIsolation,
  CommandPage,
  CommandPatch,
  CommandQuery,
  CommandRecord,
  CommandState,
  DesiredIsolation,
  IsolationRecord,
  RestoreCodeRecord,
} from './response-types.js';
import type {
  PlaybookPatch,
  PlaybookRecord,
  PlaybookRunCount,
  PlaybookRunPage,
  PlaybookRunQuery,
  PlaybookRunRecord,
  PlaybookStep,
} from './playbook-types.js';
import type {
  AlertChange,
  AlertPage,
  AlertPatch,
  AlertQuery,
  AlertRecord,
  DetectionCommit,
  DetectionCursor,
  DetectionLag,
  StoredBatchBody,
} from './alert-types.js';
import type { StoredEvent } from './types.js';
import type { SessionRecord, UserPatch, UserRecord } from './user-types.js';

/**
 * Storage is everything the server persists. Every back end (SQLite now, PostgreSQL later)
 * implements it and passes the conformance suite in `conformance.ts`. Methods are async so that
 * network databases fit; the embedded back end resolves them at once.
 */
export interface Storage {
  /** Brings the schema to the latest version. Safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  createGroup(g: GroupRecord): Promise<void>;
  getGroup(id: string): Promise<GroupRecord | undefined>;
  getGroupByName(name: string): Promise<GroupRecord | undefined>;
  listGroups(): Promise<GroupRecord[]>;
  updateGroup(id: string, patch: { name?: string; policy?: GroupPolicy }): Promise<void>;
  /**
   * deleteGroup removes a group and its registration keys. A group that still has agents is refused
   * (`conflict`) unless `moveAgentsTo` names another group: then its agents move there and the group
   * goes, in one transaction (an unknown target is `not_found` and nothing changes).
   */
  deleteGroup(id: string, moveAgentsTo?: string): Promise<void>;

  createKey(k: RegistrationKeyRecord): Promise<void>;
  getKey(id: string): Promise<RegistrationKeyRecord | undefined>;
  findKeyBySecretHash(secretHash: string): Promise<RegistrationKeyRecord | undefined>;
  listKeys(groupId?: string): Promise<RegistrationKeyRecord[]>;
  revokeKey(id: string, at: number): Promise<void>;
  /** How many agents registered with each key. */
  countRegistrationsByKey(): Promise<Map<string, number>>;

  /**
   * Stores a newly registered agent. When its key has a quota (`maxUses`) that this many agents
   * have already used, nothing is stored and the promise rejects with `quota_exceeded`; the check
   * and the insert are one atomic step, so concurrent registrations cannot overrun the quota.
   */
  createAgent(a: AgentRecord): Promise<void>;
  getAgent(id: string): Promise<AgentRecord | undefined>;
  listAgents(): Promise<AgentRecord[]>;
  findAgentsByMachineId(machineId: string): Promise<AgentRecord[]>;
  /** Records a check-in or session: host facts, capabilities, stats, policy revision, last seen. */
  touchAgent(
    id: string,
    update: {
      lastSeenAt: number;
      host?: HostFactsRecord;
      capabilities?: CapabilityRecord[];
      stats?: Record<string, number | string>;
      policyRevision?: number;
      pinnedCaSha256?: string[];
    },
  ): Promise<void>;
  /**
   * Records many check-ins or heartbeats at once (in one transaction where the back end has them),
   * so thousands of connected agents do not cost thousands of commits. Returns the ids that match
   * no agent; the others are all recorded.
   */
  touchAgents(updates: AgentTouch[]): Promise<string[]>;
  updateAgent(
    id: string,
    patch: { groupId?: string; revokedAt?: number; revocationReason?: string; decommissionedAt?: number },
  ): Promise<void>;
  /**
   * Records a renewed certificate issued to the agent; it replaces any earlier pending one. The
   * current certificate stays accepted until promoteCertificate.
   */
  setPendingCertificate(id: string, pending: PendingCertificate): Promise<void>;
  /**
   * Makes the pending certificate with `fingerprint` the agent's current one (fingerprint, public
   * key, expiry, issuer), retiring the certificate it replaces. Atomic: it returns false, changing
   * nothing, when the agent has no pending certificate with that fingerprint (another connection
   * promoted it first, or a newer renewal replaced it).
   */
  promoteCertificate(id: string, fingerprint: string): Promise<boolean>;
  /**
   * How many agents that are neither revoked nor decommissioned have a certificate that expires
   * before `beforeMs` (or has expired).
   */
  countCertificatesExpiring(beforeMs: number): Promise<number>;
  /**
   * A number that changes whenever an agent is revoked or decommissioned or its certificate is
   * replaced; cheap to read, so open sessions need a full re-check only when it moved.
   */
  credentialEpoch(): Promise<number>;
  /** The credential facts of the agents with these ids (unknown ids are left out), for re-validating sessions. */
  agentCredentials(ids: string[]): Promise<AgentCredential[]>;

  createToken(t: ApiTokenRecord): Promise<void>;
  findTokenBySecretHash(secretHash: string): Promise<ApiTokenRecord | undefined>;
  listTokens(): Promise<ApiTokenRecord[]>;
  revokeToken(id: string, at: number): Promise<void>;

  /** appendAudit stores one audit entry and returns the id it was given. */
  appendAudit(entry: NewAuditRecord): Promise<string>;
  /** searchAudit returns audit entries matching `q`, newest first, paged by an opaque cursor. */
  searchAudit(q: AuditQuery): Promise<AuditPage>;

  /**
   * Stores batches in one durable transaction: when the promise resolves, every batch is on disk
   * (fsynced). A batch whose (agentId, seq) was stored before is reported as duplicate and its
   * events are not stored again. Either all batches are stored or none.
   */
  storeBatches(batches: IncomingBatch[]): Promise<BatchResult[]>;
  /** Highest batch sequence stored for the agent, 0n if none. */
  lastSeq(agentId: string): Promise<bigint>;
  searchEvents(q: EventQuery): Promise<EventPage>;
  countEvents(agentId?: string): Promise<number>;
  /** health says whether batches can be stored right now (for the server's health endpoint). */
  health(): StorageHealth;

  /**
   * createCommand stores a new command (an unknown agent is `not_found`, a taken id `conflict`).
   * With `isolation` (isolate and restore) it also sets the agent's desired isolation, one
   * revision above the last, in the same transaction; the stored command, returned, carries that
   * revision in `isolationRevision`.
   */
  createCommand(
    c: CommandRecord,
    isolation?: Omit<DesiredIsolation, 'revision' | 'commandId'>,
  ): Promise<CommandRecord>;
  getCommand(id: string): Promise<CommandRecord | undefined>;
  /** listCommands returns commands matching `q`, newest first, paged by an opaque cursor. */
  listCommands(q: CommandQuery): Promise<CommandPage>;
  /** openCommands returns the agent's pending and delivered commands, oldest first. */
  openCommands(agentId: string): Promise<CommandRecord[]>;
  /**
   * updateCommand applies `patch` if the command is in one of the states `from` (compare and set,
   * so a late result cannot overwrite an expiry and two results cannot both win). Returns the
   * updated record, or undefined when its state was not in `from`. An unknown id is `not_found`.
   */
  updateCommand(
    id: string,
    from: readonly CommandState[],
    patch: CommandPatch,
  ): Promise<CommandRecord | undefined>;
  /** expireCommands marks every open command with expiresAt <= now (not null) as expired and returns them. */
  expireCommands(now: number, error: string): Promise<CommandRecord[]>;
  /** countCommands returns how many commands are in each state (every state present, 0 when none). */
  countCommands(): Promise<Record<CommandState, number>>;

  getIsolation(agentId: string): Promise<IsolationRecord | undefined>;
  listIsolation(): Promise<IsolationRecord[]>;
  /** setDesiredIsolation changes the desired state outside a command; returns the new revision. */
  setDesiredIsolation(agentId: string, d: Omit<DesiredIsolation, 'revision'>): Promise<number>;
  /** recordActualIsolation stores the agent's latest report (an unknown agent is `not_found`). */
  recordActualIsolation(agentId: string, actual: ActualIsolation): Promise<void>;

  /** putRestoreCode stores (replacing any previous one) the agent's restore code. */
  putRestoreCode(r: RestoreCodeRecord): Promise<void>;
  getRestoreCode(agentId: string): Promise<RestoreCodeRecord | undefined>;
  /**
   * revealRestoreCode marks code `codeId` revealed and forgets its sealed form, once: it returns
   * the record as it was (with `sealed`) the first time, undefined when it was revealed already
   * or the agent holds another code now.
   */
  revealRestoreCode(
    agentId: string,
    codeId: string,
    at: number,
    by: string,
  ): Promise<RestoreCodeRecord | undefined>;
  /** markRestoreCodeUsed records that code `codeId` was used at the host (first report wins). */
  markRestoreCodeUsed(agentId: string, codeId: string, at: number): Promise<void>;

  /** createPlaybook stores a new playbook (a taken id or name is `conflict`). */
  createPlaybook(p: PlaybookRecord): Promise<void>;
  getPlaybook(id: string): Promise<PlaybookRecord | undefined>;
  getPlaybookByName(name: string): Promise<PlaybookRecord | undefined>;
  /** listPlaybooks returns every playbook, oldest first. */
  listPlaybooks(): Promise<PlaybookRecord[]>;
  /** updatePlaybook applies `patch` and returns the updated record (an unknown id is `not_found`). */
  updatePlaybook(id: string, patch: PlaybookPatch): Promise<PlaybookRecord>;
  /** deletePlaybook removes a playbook; its runs stay, naming it (an unknown id is `not_found`). */
  deletePlaybook(id: string): Promise<void>;
  /**
   * createPlaybookRun stores one run. A playbook runs at most once per alert: a second run of the
   * same playbook for the same alert is `conflict` and nothing is stored.
   */
  createPlaybookRun(r: PlaybookRunRecord): Promise<void>;
  /** updatePlaybookRunSteps replaces a run's steps (webhook outcomes arrive later; unknown id: `not_found`). */
  updatePlaybookRunSteps(id: string, steps: PlaybookStep[]): Promise<void>;
  getPlaybookRun(id: string): Promise<PlaybookRunRecord | undefined>;
  /** listPlaybookRuns returns runs matching `q`, newest first, paged by an opaque cursor. */
  listPlaybookRuns(q: PlaybookRunQuery): Promise<PlaybookRunPage>;
  /** countPlaybookRuns counts runs at or after `since` that match the other filters. */
  countPlaybookRuns(q: PlaybookRunCount): Promise<number>;
  /**
   * readBatchesAfter returns stored batches with `batchId > after`, in commit order (increasing
   * batchId: a batch committed later never has a lower id than one already visible), at most
   * `maxBatches`, stopping early once `maxEvents` events are in the answer (at least one batch is
   * returned when any waits). A body that cannot be read is returned with `body: null` and
   * `unreadable` saying why, so detection can skip it and go on.
   */
  readBatchesAfter(after: number, maxBatches: number, maxEvents: number): Promise<StoredBatchBody[]>;
  /** eventIdOf is the event-search id of event `index` of stored batch `batchId` (sync, pure). */
  eventIdOf(batchId: number, index: number): string;
  /** getEvents returns the stored events with these ids, in the order asked; unknown ids are left out. */
  getEvents(ids: string[]): Promise<StoredEvent[]>;
  detectionCursor(): Promise<DetectionCursor>;
  /** detectionLag says how far the detection cursor is behind the newest stored batch. */
  detectionLag(): Promise<DetectionLag>;
  /**
   * commitDetections stores one detection pass in one durable transaction: it moves the cursor
   * from `c.from` to `c.to` and creates or folds its alerts (an alert candidate folds into the
   * newest alert of its group key that is not resolved and whose span, widened by
   * `groupWindowMs`, overlaps the candidate's; otherwise it becomes a new alert). When the stored
   * cursor is not `c.from` (another pass committed first) nothing is written and the promise
   * rejects with `conflict`. So a crash before the commit redoes the pass, and a crash after it
   * never repeats its alerts.
   */
  commitDetections(c: DetectionCommit): Promise<AlertChange[]>;
  getAlert(id: string): Promise<AlertRecord | undefined>;
  /** listAlerts returns alerts matching `q`, newest first, paged by an opaque cursor. */
  listAlerts(q: AlertQuery): Promise<AlertPage>;
  /** updateAlert applies a triage change and returns the alert as stored; an unknown id is `not_found`. */
  updateAlert(id: string, patch: AlertPatch, at: number): Promise<AlertRecord>;
  /** createUser stores a console account (a taken id or name is `conflict`). */
  createUser(u: UserRecord): Promise<void>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByName(name: string): Promise<UserRecord | undefined>;
  /** listUsers returns every account, oldest first. */
  listUsers(): Promise<UserRecord[]>;
  /** updateUser changes an account (an unknown id is `not_found`). */
  updateUser(id: string, patch: UserPatch): Promise<void>;
  /**
   * recordLoginFailure adds one to the user's failed logins in one atomic step and, when that
   * reaches `lockAfter`, sets lockedUntil to `lockUntil`; returns the updated record.
   */
  recordLoginFailure(id: string, lockAfter: number, lockUntil: number): Promise<UserRecord>;

  createSession(s: SessionRecord): Promise<void>;
  findSession(idHash: string): Promise<SessionRecord | undefined>;
  /** touchSession records use of a session (idle expiry counts from lastSeenAt). */
  touchSession(idHash: string, at: number): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  /** deleteUserSessions ends every session of a user (password change, disable); returns how many. */
  deleteUserSessions(userId: string): Promise<number>;
}
