import { type Clock, type Logger, systemClock } from '@palisade/common';
import {
  type Command,
  CommandPhase,
  type CollectedFile,
  type CommandResult,
  CommandResultSchema,
  type Event,
  IsolationState,
  ProcessSchema,
  create,
} from '@palisade/protocol';
import type { IsolationController } from '../isolation/isolation-controller.js';
import { type CommandHandlers, runCommand } from '../transport/commands.js';
import { CommandJournal } from './command-journal.js';
import type { KillOutcome, KillRequest } from './kill-process.linux.js';
import type { FileOutcome } from './quarantine.js';
import { fileEvent, processEvent } from './remediation-events.js';
import type { RestoreCodeStore } from './restore-code-store.js';

/** Reply sends a CommandResult back over the session the command came on. */
export type Reply = (r: CommandResult) => void;

/** ResponseActions are the host actions commands can trigger (platform code behind them). */
export interface ResponseActions {
  kill(req: KillRequest): Promise<KillOutcome>;
  quarantine(path: string): Promise<FileOutcome>;
  restoreFile(quarantineId: string): Promise<FileOutcome>;
}

/** CollectOutcome is what a file collection reports. */
export interface CollectOutcome {
  ok: boolean;
  code: string;
  message: string;
  collected?: CollectedFile;
}

/** Collect carries out collect_file (files/collect-command.ts). */
export type Collect = (req: { commandId: string; path: string; maxBytes: number }) => Promise<CollectOutcome>;

/** CommandRunnerOptions wire the runner to the rest of the agent. */
export interface CommandRunnerOptions extends CommandHandlers {
  journal: CommandJournal;
  isolation: IsolationController;
  restoreCodes: RestoreCodeStore;
  actions: ResponseActions;
  /** Uploads a file to the file receiver (absent: collect_file is unsupported). */
  collect?: Collect;
  /** Receives remediation events (OCSF 7002, 7003). */
  emit(e: Event): void;
  logger: Logger;
  clock?: Clock;
}

type Extra = Partial<
  Pick<CommandResult, 'process' | 'killedPids' | 'quarantine' | 'isolation' | 'code' | 'collected'>
>;

/**
 * CommandRunner carries out server commands. Response actions (kill_process, quarantine_file,
 * restore_file) are journaled: received → started → done, so one delivered again (after a
 * reconnect or restart) is answered with its stored result and never carried out twice; one the
 * agent died in the middle of is reported as interrupted, not re-run. set_isolation hands the
 * desired state to the isolation controller (idempotent by revision). Every command is answered
 * with a RECEIVED receipt at once and a FINAL result when done.
 */
export class CommandRunner {
  /** Commands running now, and where their result goes (the latest session that delivered them). */
  private readonly running = new Map<string, Reply>();
  private readonly clock: Clock;

  constructor(private readonly o: CommandRunnerOptions) {
    this.clock = o.clock ?? systemClock;
  }

  private result(
    id: string,
    ok: boolean,
    message: string,
    extra: Extra = {},
    phase = CommandPhase.FINAL,
  ): CommandResult {
    return create(CommandResultSchema, {
      id,
      ok,
      message,
      phase,
      finishedAtMs: BigInt(this.clock.now()),
      ...extra,
    });
  }

  /** handle carries out `c`; results go to `reply` (and are kept for a later delivery). */
  handle(c: Command, reply: Reply): void {
    const a = c.action;
    switch (a.case) {
      case 'setIsolation': {
        reply(this.result(c.id, true, 'received', {}, CommandPhase.RECEIVED));
        const want = a.value;
        this.o.isolation.setDesired(want).then(
          () => {
            const s = this.o.isolation.status();
            const reached = want.isolated
              ? s.state === IsolationState.ISOLATED
              : s.state === IsolationState.NOT_ISOLATED;
            const msg = reached
              ? want.isolated
                ? 'host isolated'
                : 'isolation lifted'
              : s.reason || `host is ${IsolationState[s.state]}`;
            reply(this.result(c.id, reached, msg, { isolation: s }));
          },
          (err: Error) => reply(this.result(c.id, false, err.message, { code: 'error' })),
        );
        return;
      }
      case 'setRestoreCode': {
        const bad = this.o.restoreCodes.setVerifier(a.value);
        reply(
          bad
            ? this.result(c.id, false, `restore code refused: ${bad}`, { code: 'bad_request' })
            : this.result(c.id, true, `restore code ${a.value.codeId} stored`),
        );
        return;
      }
      case 'killProcess':
      case 'quarantineFile':
      case 'restoreFile':
      case 'collectFile':
        this.journaled(c, reply);
        return;
      default: {
        const { ok, message } = runCommand(c, this.o);
        reply(this.result(c.id, ok, message, ok ? {} : { code: 'unsupported' }));
      }
    }
  }

  private journaled(c: Command, reply: Reply): void {
    if (!CommandJournal.validId(c.id)) {
      reply(
        this.result(c.id, false, `command id ${JSON.stringify(c.id)} is not a UUID; not carried out`, {
          code: 'bad_request',
        }),
      );
      return;
    }
    if (this.running.has(c.id)) {
      // Delivered again while it runs (a reconnect): its result goes to the newer session.
      this.running.set(c.id, reply);
      reply(this.result(c.id, true, 'received', {}, CommandPhase.RECEIVED));
      return;
    }
    const j = this.o.journal;
    const entry = j.get(c.id);
    if (entry?.state === 'done') {
      reply(entry.result);
      return;
    }
    const now = this.clock.now();
    // An upload the agent stopped in the middle of goes on: collecting is safe to repeat, and the
    // upload resumes at the offset the receiver has.
    const resumable = entry?.state === 'started' && c.action.case === 'collectFile';
    if (entry && !resumable) {
      const r = this.result(
        c.id,
        false,
        entry.state === 'started'
          ? 'the agent stopped while this command was being carried out; it is not run again (check the host)'
          : `the agent's record of this command is unreadable (${entry.why}); it is not run again`,
        { code: 'interrupted' },
      );
      j.done(c.id, entry.state === 'started' ? entry.startedAtMs : now, r);
      reply(r);
      return;
    }
    if (c.expiresAtMs > 0n && BigInt(now) > c.expiresAtMs) {
      const r = this.result(c.id, false, 'the command expired before it reached the agent', {
        code: 'expired',
      });
      j.done(c.id, now, r);
      reply(r);
      return;
    }
    if (!resumable) j.started(c.id, now);
    this.running.set(c.id, reply);
    reply(this.result(c.id, true, 'received', {}, CommandPhase.RECEIVED));
    this.o.logger.info(
      { command: c.id, action: c.action.case, reason: c.reason },
      'response command started',
    );
    this.execute(c).then(
      (r) => this.finish(c, now, r),
      (err: Error) =>
        this.finish(c, now, this.result(c.id, false, `failed: ${err.message}`, { code: 'error' })),
    );
  }

  private finish(c: Command, startedAtMs: number, r: CommandResult): void {
    this.o.journal.done(c.id, startedAtMs, r);
    const reply = this.running.get(c.id);
    this.running.delete(c.id);
    this.o.logger.info(
      { command: c.id, ok: r.ok, code: r.code, msg: r.message },
      'response command finished',
    );
    reply?.(r);
  }

  private async execute(c: Command): Promise<CommandResult> {
    const a = c.action;
    const outcome = { commandId: c.id, reason: c.reason };
    if (a.case === 'killProcess') {
      const k = a.value;
      const o = await this.o.actions.kill({
        pid: k.pid,
        startTimeMs: Number(k.startTimeMs),
        processUid: k.processUid,
        tree: k.tree,
      });
      const p = o.process ?? create(ProcessSchema, { pid: k.pid });
      this.o.emit(processEvent(p, { ...outcome, ok: o.ok, code: o.code, message: o.message }));
      return this.result(c.id, o.ok, o.message, {
        code: o.code,
        killedPids: o.killedPids,
        ...(o.process ? { process: o.process } : {}),
      });
    }
    if (a.case === 'quarantineFile' || a.case === 'restoreFile') {
      const restore = a.case === 'restoreFile';
      const o = restore
        ? await this.o.actions.restoreFile(a.value.quarantineId)
        : await this.o.actions.quarantine(a.value.path);
      const path = o.file?.originalPath ?? (restore ? '' : a.value.path);
      this.o.emit(
        fileEvent(restore, path, o.file, { ...outcome, ok: o.ok, code: o.code, message: o.message }),
      );
      return this.result(c.id, o.ok, o.message, { code: o.code, ...(o.file ? { quarantine: o.file } : {}) });
    }
    if (a.case === 'collectFile') {
      if (!this.o.collect)
        return this.result(c.id, false, 'collect_file is not supported by this agent', {
          code: 'unsupported',
        });
      const o = await this.o.collect({
        commandId: c.id,
        path: a.value.path,
        maxBytes: Number(a.value.maxBytes),
      });
      return this.result(c.id, o.ok, o.message, {
        code: o.code,
        ...(o.collected ? { collected: o.collected } : {}),
      });
    }
    return this.result(c.id, false, `command ${a.case ?? 'empty'} is not supported by this agent`, {
      code: 'unsupported',
    });
  }
}
