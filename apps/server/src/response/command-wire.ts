import {
  type Command,
  type CommandResult,
  CommandSchema,
  type IsolationDesired,
  IsolationDesiredSchema,
  IsolationState,
  type IsolationStatus,
  create,
} from '@palisade/protocol';
import type { ActualIsolation, CommandRecord, DesiredIsolation, IsolationStateName } from '@palisade/storage';

/** desiredToWire is the desired isolation as agents receive it. */
export function desiredToWire(d: DesiredIsolation | undefined): IsolationDesired {
  return create(IsolationDesiredSchema, {
    isolated: d?.isolated ?? false,
    revision: BigInt(d?.revision ?? 0),
    commandId: d?.commandId ?? '',
    reason: d?.reason ?? '',
  });
}

/** commandToWire renders a stored command as the Command frame the agent carries out. */
export function commandToWire(c: CommandRecord): Command {
  const p = c.params;
  const common = { id: c.id, reason: c.reason, expiresAtMs: BigInt(c.expiresAt ?? 0) };
  switch (c.type) {
    case 'isolate':
    case 'restore':
      return create(CommandSchema, {
        ...common,
        action: {
          case: 'setIsolation',
          value: {
            isolated: c.type === 'isolate',
            revision: BigInt(c.isolationRevision ?? 0),
            commandId: c.id,
            reason: c.reason,
          },
        },
      });
    case 'kill_process':
      return create(CommandSchema, {
        ...common,
        action: {
          case: 'killProcess',
          value: {
            pid: Number(p.pid),
            startTimeMs: BigInt(Number(p.start_time_ms ?? 0)),
            processUid: String(p.process_uid ?? ''),
            tree: p.tree === true,
          },
        },
      });
    case 'quarantine_file':
      return create(CommandSchema, {
        ...common,
        action: { case: 'quarantineFile', value: { path: String(p.path) } },
      });
    case 'restore_file':
      return create(CommandSchema, {
        ...common,
        action: { case: 'restoreFile', value: { quarantineId: String(p.quarantine_id) } },
      });
    case 'collect_file':
      return create(CommandSchema, {
        ...common,
        action: {
          case: 'collectFile',
          value: { path: String(p.path), maxBytes: BigInt(Number(p.max_bytes ?? 0)) },
        },
      });
  }
}

const STATE_NAMES: Partial<Record<IsolationState, IsolationStateName>> = {
  [IsolationState.NOT_ISOLATED]: 'not_isolated',
  [IsolationState.APPLYING]: 'applying',
  [IsolationState.ISOLATED]: 'isolated',
  [IsolationState.FAILED]: 'failed',
  [IsolationState.REVERTED]: 'reverted',
  [IsolationState.UNSUPPORTED]: 'unsupported',
};

const MAX_TEXT = 2000;
const MAX_ADDRESSES = 64;

/**
 * actualFromWire turns an agent's isolation report into what is stored, bounded (an agent must
 * not be able to store unbounded text); undefined for a report without a known state.
 */
export function actualFromWire(s: IsolationStatus, receivedAt: number): ActualIsolation | undefined {
  const state = STATE_NAMES[s.state];
  if (!state) return undefined;
  const lr = s.localRestore;
  return {
    state,
    revision: Number(s.revision),
    reason: s.reason.slice(0, MAX_TEXT),
    since: s.sinceMs > 0n ? Number(s.sinceMs) : null,
    reportedAt: receivedAt,
    allowedAddresses: s.allowedAddresses.slice(0, MAX_ADDRESSES).map((a) => a.slice(0, 64)),
    localRestore: lr
      ? { revision: Number(lr.revision), at: Number(lr.atMs), codeId: lr.codeId.slice(0, 64) }
      : null,
    restoreCodeId: s.restoreCodeId.slice(0, 64),
    restoreCodeFailures: s.restoreCodeFailures,
  };
}

/** sameActual tells whether two reports say the same (so an unchanged heartbeat writes nothing). */
export function sameActual(a: ActualIsolation | null | undefined, b: ActualIsolation): boolean {
  if (!a) return false;
  const { reportedAt: _a, ...x } = a;
  const { reportedAt: _b, ...y } = b;
  return JSON.stringify(x) === JSON.stringify(y);
}

/** resultToJson is what is stored of a command's outcome (bounded, JSON). */
export function resultToJson(r: CommandResult): Record<string, unknown> {
  const out: Record<string, unknown> = { ok: r.ok, message: r.message.slice(0, MAX_TEXT) };
  if (r.code) out.code = r.code.slice(0, 64);
  if (r.finishedAtMs) out.finished_at_agent = Number(r.finishedAtMs);
  if (r.process) {
    const p = r.process;
    out.process = {
      pid: p.pid,
      uid: p.uid.slice(0, 64),
      name: p.name.slice(0, 256),
      path: p.path.slice(0, 4096),
      cmd_line: p.cmdLine.slice(0, 4096),
      created_time: Number(p.createdTimeMs),
      ...(p.user?.uid ? { user_uid: p.user.uid.slice(0, 32) } : {}),
    };
  }
  if (r.killedPids.length) out.killed_pids = r.killedPids.slice(0, 1000);
  if (r.quarantine) {
    const q = r.quarantine;
    out.file = {
      quarantine_id: q.quarantineId.slice(0, 64),
      original_path: q.originalPath.slice(0, 4096),
      sha256: q.sha256.slice(0, 64),
      size: Number(q.size),
      mode: `0${q.mode.toString(8)}`,
      uid: q.uid,
      gid: q.gid,
      mtime: Number(q.mtimeMs),
      atime: Number(q.atimeMs),
      quarantined_at: Number(q.quarantinedAtMs),
    };
  }
  if (r.collected) {
    const f = r.collected;
    out.collected = {
      path: f.path.slice(0, 4096),
      size: Number(f.size),
      sha256: f.sha256.slice(0, 64),
      upload_id: f.uploadId.slice(0, 64),
      resumed_from: Number(f.resumedFrom),
    };
  }
  return out;
}
