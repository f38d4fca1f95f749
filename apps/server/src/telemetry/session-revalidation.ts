import type { Clock, Logger } from '@palisade/common';
import type { AgentCredential, Storage } from '@palisade/storage';
import { credentialRefusal } from '../http/peer-auth.js';
import type { LiveSession, SessionTable } from './session-table.js';

/** Close codes of telemetry sessions ended by re-validation (the agent reads them). */
export const CLOSE_CREDENTIAL_REFUSED = 4003;
export const CLOSE_CERTIFICATE_RETIRED = 4001;

/** DEFAULT_SESSION_RECHECK_MS is how often open telemetry sessions are checked against storage. */
export const DEFAULT_SESSION_RECHECK_MS = 5000;

/**
 * sessionVerdict says why an open session may no longer stay open, or undefined when it may: its
 * agent is gone, revoked or decommissioned (4003), or the certificate it authenticated with was
 * retired by a renewal or has expired by the server's clock (4001: reconnect with the current one).
 */
export function sessionVerdict(
  s: Pick<LiveSession, 'certFingerprint' | 'certNotAfter'>,
  c: (AgentCredential & { revocationReason?: string | null }) | undefined,
  nowMs: number,
): { code: number; reason: string } | undefined {
  if (!c) return { code: CLOSE_CREDENTIAL_REFUSED, reason: 'unknown agent' };
  const refusal = credentialRefusal(c);
  if (refusal) return { code: CLOSE_CREDENTIAL_REFUSED, reason: refusal };
  if (s.certFingerprint !== c.certFingerprint && s.certFingerprint !== c.pendingCert?.fingerprint)
    return {
      code: CLOSE_CERTIFICATE_RETIRED,
      reason: 'certificate retired by a renewal; reconnect with the new one',
    };
  if (s.certNotAfter <= nowMs) return { code: CLOSE_CERTIFICATE_RETIRED, reason: 'certificate expired' };
  return undefined;
}

/** A full re-check runs at least this often even when nothing seems to have changed. @default 60 s */
export const FULL_RECHECK_MS = 60_000;

/**
 * revalidateSessions checks the open sessions of `sessions` (all, or those `only` accepts) against
 * storage, one query for all of them, and closes those that may no longer stay open. Returns how
 * many it closed.
 */
export async function revalidateSessions(
  sessions: SessionTable,
  storage: Storage,
  nowMs: number,
  logger: Logger,
  only?: (s: LiveSession) => boolean,
): Promise<number> {
  const live = [...sessions.all()].filter((s) => only?.(s) ?? true);
  if (live.length === 0) return 0;
  const creds = new Map((await storage.agentCredentials(live.map((s) => s.agentId))).map((c) => [c.id, c]));
  let closed = 0;
  for (const s of live) {
    const v = sessionVerdict(s, creds.get(s.agentId), nowMs);
    if (!v || sessions.get(s.agentId) !== s) continue;
    logger.info(
      { agentId: s.agentId, channel: s.channel, code: v.code, reason: v.reason },
      'closing telemetry session',
    );
    s.close(v.code, v.reason);
    closed++;
  }
  return closed;
}

/**
 * startSessionRevalidation re-validates the sessions of one process every `intervalMs`, so that a
 * revocation or decommission made by another process (a standby-only server has its own session
 * table) reaches its open connections within seconds. Returns the stop function.
 */
export function startSessionRevalidation(o: {
  sessions: SessionTable;
  storage: Storage;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
}): () => void {
  let running = false;
  // With thousands of sessions a full re-check costs a query over all of them, so it runs only
  // when the credential epoch moved (a revocation, a decommission, a retired certificate anywhere)
  // and at least once a minute; sessions added since the last check are checked on their own (a
  // session may have authenticated just before a change the last check already saw); in between
  // only the expiry each session carries is checked, in memory.
  let seen = { epoch: Number.NaN, generation: -1, at: 0 };
  let checked = new WeakSet<LiveSession>();
  const tick = async () => {
    const now = o.clock.now();
    const epoch = await o.storage.credentialEpoch();
    const generation = o.sessions.generation;
    const live = [...o.sessions.all()];
    if (epoch !== seen.epoch || Date.now() - seen.at >= FULL_RECHECK_MS) {
      checked = new WeakSet(live);
      await revalidateSessions(o.sessions, o.storage, now, o.logger, (s) => checked.has(s));
      seen = { epoch, generation, at: Date.now() };
      return;
    }
    if (generation !== seen.generation) {
      const fresh = live.filter((s) => !checked.has(s));
      for (const s of fresh) checked.add(s);
      const mark = new Set(fresh);
      await revalidateSessions(o.sessions, o.storage, now, o.logger, (s) => mark.has(s));
      seen = { ...seen, generation };
    }
    for (const s of [...o.sessions.all()]) {
      if (s.certNotAfter > now) continue;
      o.logger.info(
        { agentId: s.agentId, channel: s.channel },
        'closing telemetry session: certificate expired',
      );
      s.close(CLOSE_CERTIFICATE_RETIRED, 'certificate expired');
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    tick()
      .catch((err: unknown) =>
        o.logger.warn({ err: (err as Error).message }, 'could not re-validate telemetry sessions; retrying'),
      )
      .finally(() => {
        running = false;
      });
  }, o.intervalMs ?? DEFAULT_SESSION_RECHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
