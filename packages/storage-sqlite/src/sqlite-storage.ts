import type Database from 'better-sqlite3';
import { type Clock, type Logger, PalisadeError, silentLogger, systemClock } from '@palisade/common';
import type {
  AgentCredential,
  AgentRecord,
  AgentTouch,
  ApiTokenRecord,
  AuditPage,
  AuditQuery,
  ActualIsolation,
  BatchResult,
  CommandPage,
  CommandPatch,
  CommandQuery,
  CommandRecord,
  CommandState,
  DesiredIsolation,
  IsolationRecord,
  RestoreCodeRecord,
  SessionRecord,
  UserPatch,
  UserRecord,
  EventPage,
  EventQuery,
  GroupPolicy,
  GroupRecord,
  IncomingBatch,
  NewAuditRecord,
  PendingCertificate,
  RegistrationKeyRecord,
  Storage,
  StorageHealth,
  PlaybookPatch,
  PlaybookRecord,
  PlaybookRunCount,
  PlaybookRunPage,
  PlaybookRunQuery,
  PlaybookRunRecord,
  PlaybookStep,
  AlertChange,
  AlertPage,
  AlertPatch,
  AlertQuery,
  AlertRecord,
  DetectionCommit,
  DetectionCursor,
  DetectionLag,
  StoredBatchBody,
  StoredEvent,
} from '@palisade/storage';
import { Alerts } from './alerts.js';
import { detectionLag, getEvents, readBatchesAfter } from './batch-follow.js';
import { eventId } from './event-id.js';
import { Agents, type TouchUpdate } from './agents.js';
import { AuditLog } from './audit.js';
import { describeBatch } from './batch-encoding.js';
import { BatchWriter } from './batch-writer.js';
import { Commands } from './commands.js';
import { Isolation, RestoreCodes } from './isolation.js';
import { openDatabase } from './database.js';
import { searchEvents } from './event-search.js';
import { Groups } from './groups.js';
import { Keys } from './keys.js';
import { migrate } from './migrations.js';
import { Playbooks } from './playbooks.js';
import { Statements } from './statements.js';
import { Tokens } from './tokens.js';
import { Users } from './users.js';
import { WriterThread } from './writer-client.js';

/** SqliteStorageOptions configures `openSqliteStorage`. */
export interface SqliteStorageOptions {
  /** Database file; created when missing (its directory must exist). */
  path: string;
  /** Clock for migration timestamps. @default systemClock */
  clock?: Clock;
  /** @default silentLogger */
  logger?: Logger;
  /**
   * Write event batches on a worker thread with its own connection, so that compression, inserts
   * and the fsync of each commit do not block the caller's event loop. @default true
   */
  writerThread?: boolean;
  /** Delay before a dead writer thread is started again (grows while restarts fail). @default 100 ms to 10 s */
  writerRestartBackoff?: { initialMs?: number; maxMs?: number };
}

/**
 * SqliteStorage is the embedded default `Storage` back end: one SQLite file in WAL mode. Calls run
 * synchronously on the caller's thread (better-sqlite3) and resolve at once; a resolved
 * `storeBatches` has been fsynced.
 */
export class SqliteStorage implements Storage {
  private readonly st: Statements;
  private readonly groups: Groups;
  private readonly keys: Keys;
  private readonly agents: Agents;
  private readonly tokens: Tokens;
  private readonly users: Users;
  private readonly audit: AuditLog;
  private readonly commands: Commands;
  private readonly isolation: Isolation;
  private readonly restoreCodes: RestoreCodes;
  private readonly playbooks: Playbooks;
  private readonly alerts: Alerts;
  private readonly setDesiredTx: (agentId: string, d: Omit<DesiredIsolation, 'revision'>) => number;
  private readonly inlineWriter: BatchWriter | undefined;

  constructor(
    /** The underlying connection, for tests and maintenance tools. */
    readonly db: Database.Database,
    private readonly path: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly writerThread: WriterThread | undefined,
  ) {
    this.st = new Statements(db);
    this.groups = new Groups(this.st);
    this.keys = new Keys(this.st);
    this.agents = new Agents(db, this.st);
    this.tokens = new Tokens(this.st);
    this.users = new Users(this.st);
    this.audit = new AuditLog(this.st);
    this.isolation = new Isolation(this.st);
    this.commands = new Commands(db, this.st, this.isolation);
    this.restoreCodes = new RestoreCodes(this.st);
    this.playbooks = new Playbooks(this.st);
    this.alerts = new Alerts(db, this.st);
    const setDesired = db.transaction((agentId: string, d: Omit<DesiredIsolation, 'revision'>) =>
      this.isolation.setDesired(agentId, d),
    );
    this.setDesiredTx = (agentId, d) => setDesired.immediate(agentId, d);
    this.inlineWriter = writerThread ? undefined : new BatchWriter(db, this.st);
  }

  async migrate(): Promise<void> {
    migrate(this.db, this.path, this.clock, this.logger);
  }
  /** close waits for pending batch writes, then closes both connections. Calling it again is a no-op. */
  async close(): Promise<void> {
    await this.writerThread?.close();
    if (this.db.open) this.db.close();
  }

  async createGroup(g: GroupRecord): Promise<void> {
    this.groups.create(g);
  }
  async getGroup(id: string): Promise<GroupRecord | undefined> {
    return this.groups.get(id);
  }
  async getGroupByName(name: string): Promise<GroupRecord | undefined> {
    return this.groups.getByName(name);
  }
  async listGroups(): Promise<GroupRecord[]> {
    return this.groups.list();
  }
  async updateGroup(id: string, patch: { name?: string; policy?: GroupPolicy }): Promise<void> {
    this.groups.update(id, patch);
  }
  async deleteGroup(id: string, moveAgentsTo?: string): Promise<void> {
    if (moveAgentsTo === undefined) return this.groups.delete(id);
    if (moveAgentsTo === id) {
      throw new PalisadeError(
        'validation_failed',
        `cannot move the agents of group ${JSON.stringify(id)} to itself`,
      );
    }
    // One transaction: either the agents moved and the group is gone, or nothing changed.
    this.db
      .transaction(() => {
        if (!this.groups.get(id))
          throw new PalisadeError('not_found', `group ${JSON.stringify(id)} does not exist`);
        if (!this.groups.get(moveAgentsTo)) {
          throw new PalisadeError(
            'not_found',
            `group ${JSON.stringify(moveAgentsTo)} (to move the agents to) does not exist`,
          );
        }
        this.st.get('UPDATE agents SET group_id = ? WHERE group_id = ?').run(moveAgentsTo, id);
        this.groups.delete(id);
      })
      .immediate();
  }

  async createKey(k: RegistrationKeyRecord): Promise<void> {
    this.keys.create(k);
  }
  async getKey(id: string): Promise<RegistrationKeyRecord | undefined> {
    return this.keys.get(id);
  }
  async findKeyBySecretHash(secretHash: string): Promise<RegistrationKeyRecord | undefined> {
    return this.keys.findBySecretHash(secretHash);
  }
  async listKeys(groupId?: string): Promise<RegistrationKeyRecord[]> {
    return this.keys.list(groupId);
  }
  async revokeKey(id: string, at: number): Promise<void> {
    this.keys.revoke(id, at);
  }
  async countRegistrationsByKey(): Promise<Map<string, number>> {
    return this.keys.countRegistrations();
  }

  async createAgent(a: AgentRecord): Promise<void> {
    // The quota check and the insert in one IMMEDIATE transaction: a second server process on the
    // same file (a standby) cannot slip a registration in between.
    this.db
      .transaction(() => {
        this.keys.checkQuota(a.keyId);
        this.agents.create(a);
      })
      .immediate();
  }
  async getAgent(id: string): Promise<AgentRecord | undefined> {
    return this.agents.get(id);
  }
  async listAgents(): Promise<AgentRecord[]> {
    return this.agents.list();
  }
  async findAgentsByMachineId(machineId: string): Promise<AgentRecord[]> {
    return this.agents.findByMachineId(machineId);
  }
  async touchAgent(id: string, update: TouchUpdate): Promise<void> {
    this.agents.touch(id, update);
  }
  async touchAgents(updates: AgentTouch[]): Promise<string[]> {
    return this.agents.touchMany(updates);
  }
  async updateAgent(
    id: string,
    patch: { groupId?: string; revokedAt?: number; revocationReason?: string; decommissionedAt?: number },
  ): Promise<void> {
    this.agents.update(id, patch);
  }
  async setPendingCertificate(id: string, pending: PendingCertificate): Promise<void> {
    this.agents.setPending(id, pending);
  }
  async promoteCertificate(id: string, fingerprint: string): Promise<boolean> {
    return this.agents.promote(id, fingerprint);
  }
  async countCertificatesExpiring(beforeMs: number): Promise<number> {
    return this.agents.countExpiring(beforeMs);
  }
  async credentialEpoch(): Promise<number> {
    return (this.st.get('SELECT n FROM credential_epoch WHERE id = 1').get() as { n: number }).n;
  }
  async agentCredentials(ids: string[]): Promise<AgentCredential[]> {
    return this.agents.credentials(ids);
  }

  async createToken(t: ApiTokenRecord): Promise<void> {
    this.tokens.create(t);
  }
  async findTokenBySecretHash(secretHash: string): Promise<ApiTokenRecord | undefined> {
    return this.tokens.findBySecretHash(secretHash);
  }
  async listTokens(): Promise<ApiTokenRecord[]> {
    return this.tokens.list();
  }
  async revokeToken(id: string, at: number): Promise<void> {
    this.tokens.revoke(id, at);
  }

  async createUser(u: UserRecord): Promise<void> {
    this.users.create(u);
  }
  async getUser(id: string): Promise<UserRecord | undefined> {
    return this.users.get(id);
  }
  async getUserByName(name: string): Promise<UserRecord | undefined> {
    return this.users.byName(name);
  }
  async listUsers(): Promise<UserRecord[]> {
    return this.users.list();
  }
  async updateUser(id: string, patch: UserPatch): Promise<void> {
    this.users.update(id, patch);
  }
  async recordLoginFailure(id: string, lockAfter: number, lockUntil: number): Promise<UserRecord> {
    return this.users.recordFailure(id, lockAfter, lockUntil);
  }
  async createSession(s: SessionRecord): Promise<void> {
    this.users.createSession(s);
  }
  async findSession(idHash: string): Promise<SessionRecord | undefined> {
    return this.users.findSession(idHash);
  }
  async touchSession(idHash: string, at: number): Promise<void> {
    this.users.touchSession(idHash, at);
  }
  async deleteSession(idHash: string): Promise<void> {
    this.users.deleteSession(idHash);
  }
  async deleteUserSessions(userId: string): Promise<number> {
    return this.users.deleteUserSessions(userId);
  }

  async appendAudit(entry: NewAuditRecord): Promise<string> {
    return this.audit.append(entry);
  }
  async searchAudit(q: AuditQuery): Promise<AuditPage> {
    return this.audit.search(q);
  }

  async storeBatches(batches: IncomingBatch[]): Promise<BatchResult[]> {
    if (!this.db.open) throw new PalisadeError('unavailable', 'storage is closed');
    // Validation, search text and encoding happen here, before anything is written.
    const rows = batches.map(describeBatch);
    return this.writerThread ? this.writerThread.write(rows) : this.inlineWriter!.write(rows);
  }
  async lastSeq(agentId: string): Promise<bigint> {
    const row = this.st
      .getSafeIntegers('SELECT max(seq) AS s FROM batches WHERE agent_id = ?')
      .get(agentId) as {
      s: bigint | null;
    };
    return row.s ?? 0n;
  }
  async searchEvents(q: EventQuery): Promise<EventPage> {
    return searchEvents(this.st, q);
  }
  health(): StorageHealth {
    if (this.writerThread) return this.writerThread.health();
    return { writer: this.db.open ? 'running' : 'stopped', restarts: 0 };
  }
  /** killWriterForTesting terminates the writer thread as a crash would (fault injection for tests). */
  async killWriterForTesting(): Promise<void> {
    if (!this.writerThread) throw new Error('this storage writes on the caller thread');
    await this.writerThread.killForTesting();
  }
  async createCommand(
    c: CommandRecord,
    isolation?: Omit<DesiredIsolation, 'revision' | 'commandId'>,
  ): Promise<CommandRecord> {
    return this.commands.create(c, isolation);
  }
  async getCommand(id: string): Promise<CommandRecord | undefined> {
    return this.commands.get(id);
  }
  async listCommands(q: CommandQuery): Promise<CommandPage> {
    return this.commands.list(q);
  }
  async openCommands(agentId: string): Promise<CommandRecord[]> {
    return this.commands.open(agentId);
  }
  async updateCommand(
    id: string,
    from: readonly CommandState[],
    patch: CommandPatch,
  ): Promise<CommandRecord | undefined> {
    return this.commands.update(id, from, patch);
  }
  async expireCommands(now: number, error: string): Promise<CommandRecord[]> {
    return this.commands.expire(now, error);
  }
  async countCommands(): Promise<Record<CommandState, number>> {
    return this.commands.counts();
  }
  async getIsolation(agentId: string): Promise<IsolationRecord | undefined> {
    return this.isolation.get(agentId);
  }
  async listIsolation(): Promise<IsolationRecord[]> {
    return this.isolation.list();
  }
  async setDesiredIsolation(agentId: string, d: Omit<DesiredIsolation, 'revision'>): Promise<number> {
    return this.setDesiredTx(agentId, d);
  }
  async recordActualIsolation(agentId: string, actual: ActualIsolation): Promise<void> {
    this.isolation.recordActual(agentId, actual);
  }
  async putRestoreCode(r: RestoreCodeRecord): Promise<void> {
    this.restoreCodes.put(r);
  }
  async getRestoreCode(agentId: string): Promise<RestoreCodeRecord | undefined> {
    return this.restoreCodes.get(agentId);
  }
  async revealRestoreCode(
    agentId: string,
    codeId: string,
    at: number,
    by: string,
  ): Promise<RestoreCodeRecord | undefined> {
    return this.restoreCodes.reveal(agentId, codeId, at, by);
  }
  async markRestoreCodeUsed(agentId: string, codeId: string, at: number): Promise<void> {
    this.restoreCodes.markUsed(agentId, codeId, at);
  }

  async readBatchesAfter(after: number, maxBatches: number, maxEvents: number): Promise<StoredBatchBody[]> {
    return readBatchesAfter(this.st, after, maxBatches, maxEvents);
  }
  eventIdOf(batchId: number, index: number): string {
    return eventId(batchId, index);
  }
  async getEvents(ids: string[]): Promise<StoredEvent[]> {
    return getEvents(this.st, ids);
  }
  async detectionCursor(): Promise<DetectionCursor> {
    return this.alerts.cursor();
  }
  async detectionLag(): Promise<DetectionLag> {
    return detectionLag(this.st, this.alerts.cursor().batchId);
  }
  async commitDetections(c: DetectionCommit): Promise<AlertChange[]> {
    return this.alerts.commit(c);
  }
  async getAlert(id: string): Promise<AlertRecord | undefined> {
    return this.alerts.get(id);
  }
  async listAlerts(q: AlertQuery): Promise<AlertPage> {
    return this.alerts.list(q);
  }
  async updateAlert(id: string, patch: AlertPatch, at: number): Promise<AlertRecord> {
    return this.alerts.update(id, patch, at);
  }

  async countEvents(agentId?: string): Promise<number> {
    const row = (
      agentId === undefined
        ? this.st.get('SELECT coalesce(sum(event_count), 0) AS n FROM batches').get()
        : this.st
            .get('SELECT coalesce(sum(event_count), 0) AS n FROM batches WHERE agent_id = ?')
            .get(agentId)
    ) as { n: number };
    return row.n;
  }

  async createPlaybook(p: PlaybookRecord): Promise<void> {
    this.playbooks.create(p);
  }
  async getPlaybook(id: string): Promise<PlaybookRecord | undefined> {
    return this.playbooks.get(id);
  }
  async getPlaybookByName(name: string): Promise<PlaybookRecord | undefined> {
    return this.playbooks.getByName(name);
  }
  async listPlaybooks(): Promise<PlaybookRecord[]> {
    return this.playbooks.list();
  }
  async updatePlaybook(id: string, patch: PlaybookPatch): Promise<PlaybookRecord> {
    return this.playbooks.update(id, patch);
  }
  async deletePlaybook(id: string): Promise<void> {
    this.playbooks.delete(id);
  }
  async createPlaybookRun(r: PlaybookRunRecord): Promise<void> {
    this.playbooks.createRun(r);
  }
  async updatePlaybookRunSteps(id: string, steps: PlaybookStep[]): Promise<void> {
    this.playbooks.updateRunSteps(id, steps);
  }
  async getPlaybookRun(id: string): Promise<PlaybookRunRecord | undefined> {
    return this.playbooks.getRun(id);
  }
  async listPlaybookRuns(q: PlaybookRunQuery): Promise<PlaybookRunPage> {
    return this.playbooks.listRuns(q);
  }
  async countPlaybookRuns(q: PlaybookRunCount): Promise<number> {
    return this.playbooks.countRuns(q);
  }
}

/**
 * openSqliteStorage opens (creating if needed) the database at `opts.path`, brings its schema to
 * the latest version and returns the storage. A non-SQLite or damaged file, or a database from a
 * newer Palisade, is refused with a PalisadeError that names the file.
 */
export async function openSqliteStorage(opts: SqliteStorageOptions): Promise<SqliteStorage> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const db = openDatabase(opts.path);
  let writer: WriterThread | undefined;
  try {
    migrate(db, opts.path, clock, logger);
    if (opts.writerThread ?? true) {
      writer = new WriterThread(opts.path, {
        logger,
        now: () => clock.now(),
        ...(opts.writerRestartBackoff ? { restartBackoff: opts.writerRestartBackoff } : {}),
      });
      await writer.ready;
    }
  } catch (err) {
    await writer?.close();
    db.close();
    throw err;
  }
  return new SqliteStorage(db, opts.path, clock, logger, writer);
}
