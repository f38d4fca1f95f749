import { randomUUID } from 'node:crypto';
import { type Clock, type Logger, PalisadeError } from '@palisade/common';
import {
  type AgentSelf,
  CommandPhase,
  type CommandResult,
  CommandSchema,
  type IsolationDesired,
  type IsolationStatus,
  type RestoreCodeVerifier,
  checkResponsePath,
  create,
  isUnder,
} from '@palisade/protocol';
import {
  type ActualIsolation,
  type AgentRecord,
  type CommandRecord,
  type CommandType,
  type IsolationRecord,
  OPEN_COMMAND_STATES,
  type Storage,
} from '@palisade/storage';
import { recordAuditAs } from '../audit/audit-log.js';
import type { SessionTable } from '../telemetry/session-table.js';
import { actualFromWire, commandToWire, desiredToWire, resultToJson, sameActual } from './command-wire.js';
import { LOCAL_LIFT_ACTOR } from './isolation-view.js';
import { type ResponseAlerts, logOnlyResponseAlerts } from './response-alerts.js';
import { RestoreCodes } from './restore-codes.js';

/** DEFAULT_COMMAND_EXPIRY_MS is how long a command may wait for its outcome: 14 days. */
export const DEFAULT_COMMAND_EXPIRY_MS = 14 * 86_400_000;

/** Actor is who asks for a response action: an API token, a playbook, the server itself. */
export interface Actor {
  /** The API token's id; null for playbooks and the system. */
  id: string | null;
  /** For people: the token's name, "playbook <name>", "system". */
  name: string;
}

/** ResponseAction is one response action and its parameters. */
export type ResponseAction =
  | { type: 'isolate'; reason: string }
  | { type: 'restore'; reason?: string }
  | {
      type: 'kill_process';
      pid: number;
      /** The process's start time as its events carry it (process.created_time), ms. */
      startTimeMs?: number;
      /** The process's unique id as its events carry it (process.uid). */
      processUid?: string;
      /** Also kill every descendant. */
      tree?: boolean;
      reason?: string;
    }
  | { type: 'quarantine_file'; path: string; reason?: string }
  | { type: 'restore_file'; quarantineId: string; reason?: string }
  | { type: 'collect_file'; path: string; maxBytes?: number; reason?: string };

/** IssueRequest asks for one response action on one agent. */
export interface IssueRequest {
  agentId: string;
  action: ResponseAction;
  actor: Actor;
  /** Where the request came from (the API client's address; "" for playbooks and the system). */
  remoteAddress?: string;
  /** What asked, for the audit log: "api", "playbook:<id>", ... @default 'api' */
  source?: string;
}

/** ResponseServiceDeps are what the response side needs. */
export interface ResponseServiceDeps {
  storage: Storage;
  sessions: SessionTable;
  clock: Clock;
  logger: Logger;
  /** The server's data directory (holds the key that seals restore codes). */
  dataDir: string;
  alerts?: ResponseAlerts;
  /** How long a command may wait for its outcome. @default 14 days */
  commandExpiryMs?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_REASON = 1000;
const MAX_PID = 4_194_304;
const HOST_CONSOLE: Actor = { id: null, name: LOCAL_LIFT_ACTOR };
const SYSTEM: Actor = { id: null, name: 'system' };

function bad(msg: string): PalisadeError {
  return new PalisadeError('validation_failed', msg);
}

/**
 * ResponseService is the server side of response actions: it validates and stores commands, keeps
 * each agent's desired isolation, delivers commands to connected agents (and again at every
 * reconnect until they report an outcome), records outcomes and the agents' actual isolation,
 * expires commands that wait too long, and keeps the offline restore codes.
 *
 * `issue` is the one internal entry point for asking for an action: the admin API calls it after
 * checking the caller's role; a playbook engine calls it directly with its own Actor (there is no
 * role check inside: the caller decides who may act). Every call is validated the same way,
 * audit-logged with who asked and why, and either fully stored or refused with nothing changed.
 */
export class ResponseService {
  readonly restoreCodes: RestoreCodes;
  private readonly alerts: ResponseAlerts;
  private readonly expiryMs: number;
  /** What each agent last said must not be touched (from Hello, heartbeats, check-ins). */
  private readonly selves = new Map<string, AgentSelf>();
  /** The last isolation report of each agent, so an unchanged heartbeat costs no database read. */
  private readonly lastReports = new Map<string, string>();
  /** Reports of one agent are handled one at a time (heartbeat and check-in may race). */
  private readonly reporting = new Map<string, Promise<void>>();

  constructor(private readonly d: ResponseServiceDeps) {
    this.restoreCodes = new RestoreCodes(d.storage, d.dataDir, d.clock);
    this.alerts = d.alerts ?? logOnlyResponseAlerts(d.logger);
    this.expiryMs = d.commandExpiryMs ?? DEFAULT_COMMAND_EXPIRY_MS;
  }

  private audit(
    actor: Actor,
    remote: string,
    action: string,
    agentId: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    return recordAuditAs(this.d, actor, remote, { action, targetType: 'agent', targetId: agentId, details });
  }

  private async agent(agentId: string): Promise<AgentRecord> {
    if (!UUID.test(agentId)) throw bad(`agent id "${agentId}" is not a UUID`);
    const a = await this.d.storage.getAgent(agentId);
    if (!a) throw new PalisadeError('not_found', `no agent ${agentId}`);
    if (a.decommissionedAt !== null) {
      throw new PalisadeError(
        'conflict',
        `agent ${agentId} was decommissioned on ${new Date(a.decommissionedAt).toISOString()}; it takes no commands`,
      );
    }
    if (a.revokedAt !== null)
      throw new PalisadeError('conflict', `agent ${agentId} is revoked; it takes no commands`);
    return a;
  }

  private reasonOf(r: string | undefined, required: boolean): string {
    const reason = (r ?? '').trim();
    if (required && reason === '')
      throw bad('reason: required (why this action is taken, for the audit log)');
    if (reason.length > MAX_REASON) throw bad(`reason: longer than ${MAX_REASON} characters`);
    return reason;
  }

  /** params checks an action's parameters against the agent and returns what is stored. */
  private async params(a: AgentRecord, act: ResponseAction): Promise<Record<string, unknown>> {
    const self = this.selves.get(a.id);
    switch (act.type) {
      case 'isolate':
      case 'restore':
        return {};
      case 'kill_process': {
        if (!Number.isInteger(act.pid) || act.pid < 1 || act.pid > MAX_PID)
          throw bad(`pid: must be an integer from 2 to ${MAX_PID}, got ${act.pid}`);
        if (act.pid === 1) throw bad('pid: 1 is init; it is never killed');
        if (self && act.pid === self.pid) throw bad(`pid: ${act.pid} is the Palisade agent itself; refused`);
        if (self?.helperPids.includes(act.pid))
          throw bad(`pid: ${act.pid} is a helper of the Palisade agent; refused`);
        const start = act.startTimeMs;
        if (start !== undefined && (!Number.isSafeInteger(start) || start <= 0))
          throw bad('start_time: must be a time after 1970 (ms since the epoch or ISO 8601)');
        const uid = act.processUid;
        if (uid !== undefined && !/^[0-9a-f]{32}$/.test(uid))
          throw bad('process_uid: must be the 32 hex digits of process.uid');
        if (start === undefined && uid === undefined) {
          throw bad(
            'start_time or process_uid: required (from the process event), so that a reused pid is never killed',
          );
        }
        return {
          pid: act.pid,
          ...(start !== undefined ? { start_time_ms: start } : {}),
          ...(uid !== undefined ? { process_uid: uid } : {}),
          tree: act.tree === true,
        };
      }
      case 'quarantine_file': {
        const why = checkResponsePath(act.path);
        if (why) throw bad(`path: ${why}`);
        const own = self?.protectedPaths.find((p) => isUnder(act.path, p));
        if (own) throw bad(`path: ${act.path} is one of the Palisade agent's own files (${own}); refused`);
        return { path: act.path };
      }
      case 'collect_file': {
        // Reading is not changing: paths under /dev or /proc are the agent's to refuse (or not)
        // with its own reason, after it looked at what the file is.
        const why = checkResponsePath(act.path);
        if (why && !why.includes('pseudo-filesystem')) throw bad(`path: ${why}`);
        const max = act.maxBytes;
        if (max !== undefined && (!Number.isSafeInteger(max) || max < 1))
          throw bad('max_bytes: must be a whole number from 1');
        return { path: act.path, ...(max !== undefined ? { max_bytes: max } : {}) };
      }
      case 'restore_file': {
        if (!UUID.test(act.quarantineId)) throw bad(`quarantine_id: "${act.quarantineId}" is not a UUID`);
        const q = await this.findQuarantine(a.id, act.quarantineId);
        if (!q)
          throw new PalisadeError('not_found', `agent ${a.id} has no quarantined file ${act.quarantineId}`);
        return { quarantine_id: act.quarantineId, path: q };
      }
    }
  }

  /** findQuarantine returns the original path of a file this agent quarantined under `id`. */
  private async findQuarantine(agentId: string, id: string): Promise<string | undefined> {
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const r = await this.d.storage.listCommands({
        agentId,
        type: 'quarantine_file',
        state: 'succeeded',
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      for (const c of r.commands) {
        const f = c.result?.file as { quarantine_id?: string; original_path?: string } | undefined;
        if (f?.quarantine_id === id) return f.original_path ?? String(c.params.path);
      }
      if (!r.nextCursor) return undefined;
      cursor = r.nextCursor;
    }
    return undefined;
  }

  /** checkIsolationChange refuses an isolate of an isolated host and a restore of an open one. */
  private async checkIsolationChange(
    agentId: string,
    isolate: boolean,
  ): Promise<IsolationRecord | undefined> {
    const rec = await this.d.storage.getIsolation(agentId);
    const d = rec?.desired;
    const a = rec?.actual;
    if (isolate && d?.isolated) {
      const reached = a && a.revision === d.revision;
      if (!reached) {
        throw new PalisadeError(
          'conflict',
          `isolation of agent ${agentId} was asked for already on ${new Date(d.changedAt).toISOString()} (command ${d.commandId}); it is pending`,
        );
      }
      if (a.state === 'isolated' || a.state === 'applying') {
        throw new PalisadeError(
          'conflict',
          `agent ${agentId} is isolated already (since ${new Date(a.since ?? d.changedAt).toISOString()})`,
        );
      }
      // reverted, failed, lifted locally: isolating again is how an operator retries.
    }
    if (!isolate && !d?.isolated && !(a && (a.state === 'isolated' || a.state === 'applying'))) {
      throw new PalisadeError('conflict', `agent ${agentId} is not isolated`);
    }
    return rec;
  }

  /**
   * issue asks agent `agentId` to carry out `action` on behalf of `actor`, for `reason`. It is the
   * internal entry point a playbook engine calls (no role check inside: callers check their own
   * rights). Validation errors are PalisadeErrors (validation_failed, not_found for an unknown
   * agent, conflict for a decommissioned one or a pointless isolate/restore) and store nothing.
   * The command is stored pending, audit-logged, and sent at once when the agent is connected;
   * otherwise it waits for the agent's next connection (until it expires).
   */
  async issue(req: IssueRequest): Promise<CommandRecord> {
    const act = req.action;
    const a = await this.agent(req.agentId);
    const reason = this.reasonOf(act.reason, act.type === 'isolate');
    const params = await this.params(a, act);
    const isolation = act.type === 'isolate' || act.type === 'restore';
    if (isolation) await this.checkIsolationChange(a.id, act.type === 'isolate');
    const now = this.d.clock.now();
    const record: CommandRecord = {
      id: randomUUID(),
      agentId: a.id,
      type: act.type as CommandType,
      params,
      reason,
      actorId: req.actor.id,
      actorName: req.actor.name,
      state: 'pending',
      createdAt: now,
      expiresAt: isolation ? null : now + this.expiryMs,
      deliveredAt: null,
      finishedAt: null,
      error: null,
      result: null,
      isolationRevision: null,
    };
    const superseded = isolation
      ? (await this.d.storage.openCommands(a.id)).filter((c) => c.type === 'isolate' || c.type === 'restore')
      : [];
    const stored = await this.d.storage.createCommand(
      record,
      isolation
        ? { isolated: act.type === 'isolate', reason, changedAt: now, actorName: req.actor.name }
        : undefined,
    );
    for (const old of superseded) {
      await this.d.storage.updateCommand(old.id, OPEN_COMMAND_STATES, {
        state: 'failed',
        finishedAt: now,
        error: `superseded by command ${stored.id} (${stored.type})`,
      });
    }
    await this.audit(req.actor, req.remoteAddress ?? '', `command.${stored.type}`, a.id, {
      command_id: stored.id,
      hostname: a.host.hostname,
      reason,
      source: req.source ?? 'api',
      ...params,
      ...(stored.isolationRevision !== null ? { isolation_revision: stored.isolationRevision } : {}),
    });
    this.push(stored);
    return stored;
  }

  private push(c: CommandRecord): void {
    const s = this.d.sessions.get(c.agentId);
    if (!s) return;
    try {
      s.send(commandToWire(c));
    } catch (err) {
      this.d.logger.warn(
        { agentId: c.agentId, command: c.id, msg: (err as Error).message },
        'could not send a command',
      );
    }
  }

  /** deliverOpen sends an agent that just connected every command still waiting for its outcome. */
  async deliverOpen(agentId: string): Promise<number> {
    const open = await this.d.storage.openCommands(agentId);
    for (const c of open) this.push(c);
    return open.length;
  }

  /** desiredFor is the agent's desired isolation (for Welcome and check-in answers). */
  async desiredFor(agentId: string): Promise<IsolationDesired> {
    return desiredToWire((await this.d.storage.getIsolation(agentId))?.desired);
  }

  /** verifierFor is the agent's restore code verifier, made on first use. */
  async verifierFor(agentId: string): Promise<RestoreCodeVerifier> {
    return RestoreCodes.verifier(await this.restoreCodes.ensure(agentId));
  }

  /** onResult records what an agent reported about one of its commands. */
  async onResult(agentId: string, r: CommandResult): Promise<void> {
    if (!UUID.test(r.id)) return; // set_policy pushes and pings carry no stored command
    const c = await this.d.storage.getCommand(r.id);
    if (!c) return;
    if (c.agentId !== agentId) {
      this.d.logger.warn({ agentId, command: r.id }, 'agent reported on a command of another agent; ignored');
      return;
    }
    const now = this.d.clock.now();
    if (r.phase === CommandPhase.RECEIVED) {
      await this.d.storage.updateCommand(c.id, ['pending'], { state: 'delivered', deliveredAt: now });
      return;
    }
    if (c.type === 'isolate' || c.type === 'restore') {
      // Isolation commands end with the state the agent reports (here, in check-ins, heartbeats).
      await this.d.storage.updateCommand(c.id, ['pending'], { state: 'delivered', deliveredAt: now });
      if (r.isolation) await this.report(agentId, { isolation: r.isolation });
      return;
    }
    const done = await this.d.storage.updateCommand(c.id, OPEN_COMMAND_STATES, {
      state: r.ok ? 'succeeded' : 'failed',
      ...(c.deliveredAt === null ? { deliveredAt: now } : {}),
      finishedAt: now,
      error: r.ok ? null : `${r.code || 'failed'}: ${r.message}`.slice(0, 2000),
      result: resultToJson(r),
    });
    if (done) {
      this.d.logger.info(
        { agentId, command: c.id, type: c.type, state: done.state, msg: r.message },
        'command finished',
      );
    }
  }

  /**
   * report takes what an agent says about itself (Hello, heartbeat, check-in): its actual
   * isolation state, and what response actions must not touch. It settles isolation commands,
   * records reverted isolations (audit, log, alert hook) and local lifts with the offline code.
   */
  report(
    agentId: string,
    r: { isolation?: IsolationStatus | undefined; self?: AgentSelf | undefined },
  ): Promise<void> {
    const prev = this.reporting.get(agentId) ?? Promise.resolve();
    const next = prev.then(() => this.handleReport(agentId, r));
    const settled = next.catch(() => {});
    this.reporting.set(agentId, settled);
    void settled.then(() => {
      if (this.reporting.get(agentId) === settled) this.reporting.delete(agentId);
    });
    return next;
  }

  private async handleReport(
    agentId: string,
    r: { isolation?: IsolationStatus | undefined; self?: AgentSelf | undefined },
  ): Promise<void> {
    if (r.self) this.selves.set(agentId, r.self);
    if (!r.isolation) return;
    const now = this.d.clock.now();
    const actual = actualFromWire(r.isolation, now);
    if (!actual) return;
    const key = JSON.stringify({ ...actual, reportedAt: 0 });
    if (this.lastReports.get(agentId) === key) return;
    this.lastReports.set(agentId, key);
    const rec = await this.d.storage.getIsolation(agentId);
    if (sameActual(rec?.actual, actual)) return;
    await this.d.storage.recordActualIsolation(agentId, actual);
    const prev = rec?.actual ?? null;
    const d = rec?.desired;
    if (
      actual.localRestore &&
      JSON.stringify(actual.localRestore) !== JSON.stringify(prev?.localRestore ?? null)
    ) {
      await this.onLocalRestore(agentId, rec, actual.localRestore);
    }
    if (!d || d.revision === 0 || actual.revision !== d.revision || !d.commandId) return;
    const changed = !prev || prev.state !== actual.state || prev.revision !== actual.revision;
    if (!changed) return;
    const cmd = d.commandId;
    if (actual.state === 'applying') {
      await this.d.storage.updateCommand(cmd, ['pending'], { state: 'delivered', deliveredAt: now });
      return;
    }
    const success = d.isolated ? actual.state === 'isolated' : actual.state === 'not_isolated';
    const failure =
      ['failed', 'reverted', 'unsupported'].includes(actual.state) ||
      (d.isolated && actual.state === 'not_isolated');
    if (!success && !failure) return;
    const done = await this.d.storage.updateCommand(cmd, OPEN_COMMAND_STATES, {
      state: success ? 'succeeded' : 'failed',
      finishedAt: now,
      error: success ? null : actual.reason || `the agent reports ${actual.state}`,
      result: {
        state: actual.state,
        revision: actual.revision,
        reason: actual.reason,
        allowed_addresses: actual.allowedAddresses,
      },
    });
    if (!done) return; // settled before: another report got there first
    if (done.deliveredAt === null)
      await this.d.storage.updateCommand(cmd, [done.state], { deliveredAt: now });
    if (actual.state === 'reverted') await this.onReverted(agentId, d.revision, cmd, actual);
  }

  private async hostname(agentId: string): Promise<string> {
    return (await this.d.storage.getAgent(agentId))?.host.hostname ?? '';
  }

  private async onReverted(
    agentId: string,
    revision: number,
    commandId: string,
    a: ActualIsolation,
  ): Promise<void> {
    const hostname = await this.hostname(agentId);
    await this.audit(SYSTEM, '', 'agent.isolation_reverted', agentId, {
      hostname,
      revision,
      command_id: commandId,
      reason: a.reason,
    });
    this.d.logger.error(
      { agentId, hostname, revision, command: commandId, reason: a.reason },
      'isolation reverted by the agent',
    );
    this.alerts.isolationReverted({
      agentId,
      hostname,
      revision,
      commandId,
      reason: a.reason,
      at: this.d.clock.now(),
    });
  }

  private async onLocalRestore(
    agentId: string,
    rec: IsolationRecord | undefined,
    lr: NonNullable<ActualIsolation['localRestore']>,
  ): Promise<void> {
    const now = this.d.clock.now();
    const hostname = await this.hostname(agentId);
    await this.d.storage
      .markRestoreCodeUsed(agentId, lr.codeId, lr.at)
      .catch((err: Error) =>
        this.d.logger.warn(
          { agentId, codeId: lr.codeId, msg: err.message },
          'local restore with a code the server does not hold',
        ),
      );
    await this.audit(HOST_CONSOLE, '', 'agent.isolation_lifted_locally', agentId, {
      hostname,
      revision: lr.revision,
      lifted_at: new Date(lr.at).toISOString(),
      code_id: lr.codeId,
    });
    this.alerts.isolationLiftedLocally({
      agentId,
      hostname,
      revision: lr.revision,
      codeId: lr.codeId,
      at: lr.at,
    });
    const d = rec?.desired;
    if (d?.isolated && d.revision <= lr.revision) {
      if (d.commandId) {
        await this.d.storage.updateCommand(d.commandId, OPEN_COMMAND_STATES, {
          state: 'failed',
          finishedAt: now,
          error: `isolation lifted at the host with the offline restore code on ${new Date(lr.at).toISOString()}`,
        });
      }
      const revision = await this.d.storage.setDesiredIsolation(agentId, {
        isolated: false,
        reason: `lifted at the host with the offline restore code ${lr.codeId} on ${new Date(lr.at).toISOString()}`,
        commandId: null,
        changedAt: now,
        actorName: HOST_CONSOLE.name,
      });
      this.sendNow(agentId, {
        case: 'setIsolation',
        value: desiredToWire({
          isolated: false,
          revision,
          reason: 'lifted locally',
          commandId: null,
          changedAt: now,
          actorName: '',
        }),
      });
    }
    // A code someone typed at the console is spent: the agent gets a new one (not yet shown).
    const fresh = await this.restoreCodes.replaceUsed(agentId);
    await this.audit(SYSTEM, '', 'agent.restore_code_replaced', agentId, {
      hostname,
      code_id: fresh.codeId,
      replaced: lr.codeId,
    });
    this.sendNow(agentId, { case: 'setRestoreCode', value: RestoreCodes.verifier(fresh) });
  }

  private sendNow(agentId: string, action: ReturnType<typeof create<typeof CommandSchema>>['action']): void {
    this.d.sessions.get(agentId)?.send(create(CommandSchema, { id: randomUUID(), action }));
  }

  /** revealRestoreCode shows an agent's restore code once to `actor` (audit-logged). */
  async revealRestoreCode(
    agentId: string,
    actor: Actor,
    remote: string,
  ): Promise<{ code: string; codeId: string; createdAt: number }> {
    const a = await this.agent(agentId);
    const { code, record } = await this.restoreCodes.reveal(a.id, actor.name);
    await this.audit(actor, remote, 'agent.restore_code_reveal', a.id, {
      hostname: a.host.hostname,
      code_id: record.codeId,
    });
    return { code, codeId: record.codeId, createdAt: record.createdAt };
  }

  /** rotateRestoreCode gives an agent a new restore code, shown now to `actor`; the old one stops working. */
  async rotateRestoreCode(
    agentId: string,
    actor: Actor,
    remote: string,
  ): Promise<{ code: string; codeId: string; createdAt: number }> {
    const a = await this.agent(agentId);
    const { code, record } = await this.restoreCodes.rotate(a.id, actor.name);
    await this.audit(actor, remote, 'agent.restore_code_rotate', a.id, {
      hostname: a.host.hostname,
      code_id: record.codeId,
    });
    this.sendNow(a.id, { case: 'setRestoreCode', value: RestoreCodes.verifier(record) });
    return { code, codeId: record.codeId, createdAt: record.createdAt };
  }

  private expiryTimer: NodeJS.Timeout | undefined;

  /** startExpiry runs expireDue now and every `everyMs`. */
  startExpiry(everyMs = 60_000): void {
    const tick = () =>
      void this.expireDue().catch((err: Error) =>
        this.d.logger.error({ err: err.message }, 'command expiry failed'),
      );
    tick();
    this.expiryTimer = setInterval(tick, everyMs);
    this.expiryTimer.unref();
  }

  /** stop ends the expiry job. */
  stop(): void {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
  }

  /** expireDue ends every command that waited past its expiry, and returns how many. */
  async expireDue(): Promise<number> {
    const expired = await this.d.storage.expireCommands(
      this.d.clock.now(),
      'expired: the agent did not report an outcome in time',
    );
    for (const c of expired) {
      this.d.logger.warn({ agentId: c.agentId, command: c.id, type: c.type }, 'command expired');
    }
    return expired.length;
  }
}
