import { PROTOCOL_VERSION } from '@palisade/protocol';
import { ApiReply, type ApiContext, type ApiRoute } from './context.js';
import { certificateHealth } from './certificates.js';
import { NO_QUERY } from './schema.js';

/** WriterHealth is what one telemetry listener's group-commit writer reports. */
export interface WriterHealth {
  lastCommitAt: number | null;
  failingSince: number | null;
  lastFailure: string | null;
}

/**
 * healthOf is the body of GET /api/v1/health and whether ingest is failing: the storage writer is
 * not running, or the last group a telemetry listener handed to storage failed. An idle server
 * (no commit for a while) is not failing; the age of the last commit says how idle.
 */
export function healthOf(ctx: ApiContext): { failing: boolean; body: Record<string, unknown> } {
  const store = ctx.storage.health();
  const writers = ctx.ingest?.() ?? [];
  const now = ctx.clock.now();
  let lastCommitAt: number | null = null;
  let failingSince: number | null = store.failingSince ?? null;
  let lastFailure: string | null = store.lastError ?? null;
  for (const w of writers) {
    if (w.lastCommitAt !== null && (lastCommitAt === null || w.lastCommitAt > lastCommitAt))
      lastCommitAt = w.lastCommitAt;
    if (w.failingSince !== null) {
      failingSince = failingSince === null ? w.failingSince : Math.min(failingSince, w.failingSince);
      lastFailure = w.lastFailure ?? lastFailure;
    }
  }
  const failing = store.writer !== 'running' || writers.some((w) => w.failingSince !== null);
  return {
    failing,
    body: {
      status: failing ? 'failing' : 'ok',
      protocol_version: PROTOCOL_VERSION,
      connected_agents: ctx.sessions.size,
      ingest: {
        writer: store.writer,
        writer_restarts: store.restarts,
        last_commit_at: lastCommitAt,
        last_commit_age_ms: lastCommitAt === null ? null : now - lastCommitAt,
        failing_since: failing ? failingSince : null,
        last_error: lastFailure,
      },
    },
  };
}

/** HEALTH answers 200 while ingest works and 503 while it fails, with the details either way. */
export const HEALTH: ApiRoute = {
  method: 'GET',
  url: '/health',
  schema: {
    summary:
      'Is ingest working: writer state, last commit age, protocol version, connected agents (503 while failing)',
    querystring: NO_QUERY,
  },
  async handler(_req, ctx) {
    const { failing, body } = healthOf(ctx);
    const full = { ...body, ...(await certificateHealth(ctx)) };
    return failing ? new ApiReply(503, full) : full;
  },
};
