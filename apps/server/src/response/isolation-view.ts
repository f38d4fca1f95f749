import type { CommandRecord, IsolationRecord } from '@palisade/storage';
import type { ConnectionState } from '../telemetry/session-table.js';

/** LOCAL_LIFT_ACTOR names who changed the desired state when someone used the offline restore code. */
export const LOCAL_LIFT_ACTOR = 'host console (offline restore code)';

const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/**
 * IsolationStatusName is the one word the API and CLI show for an agent's isolation:
 * not_isolated, isolated, pending (asked for while the agent is offline: since `pending_since`),
 * applying / restoring (the agent is online and on its way), reverted (the agent removed the
 * rules again: backend unreachable through them), failed, lifted_locally (offline restore code),
 * unsupported.
 */
export type IsolationStatusName =
  | 'not_isolated'
  | 'isolated'
  | 'pending'
  | 'applying'
  | 'restoring'
  | 'reverted'
  | 'failed'
  | 'lifted_locally'
  | 'unsupported';

/**
 * online tells whether the agent is reachable now: its telemetry is connected, or it checked in
 * within 90 s after its telemetry connection (if any) ended.
 */
function online(conn: ConnectionState, lastSeenAt: number | null, now: number): boolean {
  if (conn.state === 'connected') return true;
  if (lastSeenAt === null || now - lastSeenAt >= 90_000) return false;
  return conn.since === null || lastSeenAt > conn.since + 1000;
}

/**
 * isolationView is the API's JSON for an agent's isolation: desired and actual side by side, and
 * the status word derived from both. "pending" only while the agent is offline.
 */
export function isolationView(
  rec: IsolationRecord | undefined,
  conn: ConnectionState,
  lastSeenAt: number | null,
  now: number,
): object {
  const d = rec?.desired;
  const a = rec?.actual ?? null;
  const answered = a !== null && d !== undefined && a.revision === d.revision;
  const up = online(conn, lastSeenAt, now);
  let status: IsolationStatusName;
  let pendingSince: number | null = null;
  if (d?.isolated) {
    if (answered) {
      status =
        a.state === 'not_isolated'
          ? a.localRestore?.revision === d.revision
            ? 'lifted_locally'
            : 'failed'
          : a.state === 'isolated'
            ? 'isolated'
            : a.state;
    } else if (up) status = 'applying';
    else {
      status = 'pending';
      pendingSince = d.changedAt;
    }
  } else {
    const stillIsolated = a !== null && (a.state === 'isolated' || a.state === 'applying') && !answered;
    if (stillIsolated) {
      if (up) status = 'restoring';
      else {
        status = 'pending';
        pendingSince = d?.changedAt ?? null;
      }
    } else if (a?.state === 'failed' && answered) status = 'failed';
    else if (a?.state === 'unsupported') status = 'unsupported';
    // After a lift at the console the server sets "not isolated" itself, without a command.
    else
      status =
        d && d.commandId === null && d.actorName === LOCAL_LIFT_ACTOR ? 'lifted_locally' : 'not_isolated';
  }
  return {
    status,
    pending_since: iso(pendingSince),
    desired: d
      ? {
          isolated: d.isolated,
          revision: d.revision,
          reason: d.reason,
          since: iso(d.changedAt),
          by: d.actorName,
          command_id: d.commandId,
        }
      : { isolated: false, revision: 0, reason: '', since: null, by: null, command_id: null },
    actual: a
      ? {
          state: a.state,
          revision: a.revision,
          reason: a.reason,
          since: iso(a.since),
          reported_at: iso(a.reportedAt),
          allowed_addresses: a.allowedAddresses,
          local_restore: a.localRestore
            ? {
                revision: a.localRestore.revision,
                at: iso(a.localRestore.at),
                code_id: a.localRestore.codeId,
              }
            : null,
          restore_code_id: a.restoreCodeId || null,
          restore_code_failures: a.restoreCodeFailures,
        }
      : null,
  };
}

/** commandView is the API's JSON for one command. */
export function commandView(c: CommandRecord): object {
  return {
    id: c.id,
    agent_id: c.agentId,
    type: c.type,
    params: c.params,
    reason: c.reason,
    requested_by: { id: c.actorId, name: c.actorName },
    state: c.state,
    created_at: iso(c.createdAt),
    expires_at: iso(c.expiresAt),
    delivered_at: iso(c.deliveredAt),
    finished_at: iso(c.finishedAt),
    error: c.error,
    result: c.result,
    isolation_revision: c.isolationRevision,
  };
}
