import { PalisadeError } from '@palisade/common';
import type { FastifyRequest } from 'fastify';
import { commandView } from '../response/isolation-view.js';
import type { Actor, ResponseAction, ResponseService } from '../response/response-service.js';
import type { ApiContext, ApiRoute } from './context.js';
import { requestPrincipal } from './route-guard.js';
import { idParams, type JsonSchema, NO_BODY, object, text } from './schema.js';

const REASON = text(1000, 'a reason of 1-1000 characters');
const OPTIONAL_REASON: JsonSchema = {
  type: 'string',
  maxLength: 1000,
  description: 'a reason of at most 1000 characters',
};

function service(ctx: ApiContext): ResponseService {
  if (!ctx.response)
    throw new PalisadeError('unavailable', 'response actions are not available on this server');
  return ctx.response;
}

/** actorOf is the API token or console user that asked, as the response side names actors. */
export function actorOf(req: FastifyRequest): Actor {
  const t = requestPrincipal(req);
  return { id: t?.id ?? null, name: t?.name ?? 'anonymous' };
}

/** startTime reads a start time given as ms since the epoch or as ISO 8601. */
function startTime(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const s = String(v);
  if (/^\d+$/.test(s)) return Number(s);
  const ms = /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})$/.test(s) ? Date.parse(s) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new PalisadeError(
      'validation_failed',
      `field start_time: "${s}" is neither ms since the epoch nor an ISO 8601 time`,
    );
  }
  return ms;
}

function action(
  name: string,
  summary: string,
  url: string,
  schema: JsonSchema,
  toAction: (b: Record<string, unknown>) => ResponseAction,
): ApiRoute {
  return {
    method: 'POST',
    url,
    status: 202,
    schema: { summary, params: idParams, body: schema },
    async handler(req, ctx) {
      const b = (req.body ?? {}) as Record<string, unknown>;
      const c = await service(ctx).issue({
        agentId: (req.params as { id: string }).id.toLowerCase(),
        action: toAction(b),
        actor: actorOf(req),
        remoteAddress: req.ip,
        source: `api:${name}`,
      });
      return { command: commandView(c) };
    },
  };
}

/**
 * RESPONSE_ROUTES ask agents to act (analyst or admin: see ROUTE_ROLES) and show an agent's
 * offline restore code (admin). Each action becomes a command (GET /api/v1/commands/:id follows it).
 */
export const RESPONSE_ROUTES: ApiRoute[] = [
  action(
    'isolate',
    'Isolate the host from the network except the Palisade backend and DNS',
    '/agents/:id/isolate',
    object({ reason: REASON }, ['reason']),
    (b) => ({
      type: 'isolate',
      reason: String(b.reason),
    }),
  ),
  action(
    'restore',
    'Lift the isolation of the host',
    '/agents/:id/restore',
    object({ reason: OPTIONAL_REASON }),
    (b) => ({
      type: 'restore',
      ...(b.reason !== undefined ? { reason: String(b.reason) } : {}),
    }),
  ),
  action(
    'kill-process',
    'Kill a process named by pid and start time (or its process uid)',
    '/agents/:id/kill-process',
    object(
      {
        pid: { type: 'integer', minimum: 1, description: 'a process id' },
        start_time: {
          anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 64 }],
          description: 'ms since the epoch or an ISO 8601 time',
        },
        process_uid: text(64, 'a process uid'),
        tree: { type: 'boolean', description: 'true to kill its descendants too' },
        reason: OPTIONAL_REASON,
      },
      ['pid'],
    ),
    (b) => ({
      type: 'kill_process',
      pid: Number(b.pid),
      ...(b.start_time !== undefined ? { startTimeMs: startTime(b.start_time) } : {}),
      ...(b.process_uid !== undefined ? { processUid: String(b.process_uid) } : {}),
      ...(b.tree !== undefined ? { tree: b.tree === true } : {}),
      ...(b.reason !== undefined ? { reason: String(b.reason) } : {}),
    }),
  ),
  action(
    'quarantine-file',
    "Move a file into the agent's quarantine (restorable)",
    '/agents/:id/quarantine-file',
    object({ path: text(4096, 'an absolute path'), reason: OPTIONAL_REASON }, ['path']),
    (b) => ({
      type: 'quarantine_file',
      path: String(b.path),
      ...(b.reason !== undefined ? { reason: String(b.reason) } : {}),
    }),
  ),
  action(
    'restore-file',
    'Put a quarantined file back where it was',
    '/agents/:id/restore-file',
    object({ quarantine_id: text(64, 'a quarantine id'), reason: OPTIONAL_REASON }, ['quarantine_id']),
    (b) => ({
      type: 'restore_file',
      quarantineId: String(b.quarantine_id).toLowerCase(),
      ...(b.reason !== undefined ? { reason: String(b.reason) } : {}),
    }),
  ),
  action(
    'collect-file',
    'Upload a regular file from the agent to the file receiver',
    '/agents/:id/collect-file',
    object(
      {
        path: text(4096, 'an absolute path'),
        max_bytes: { type: 'integer', minimum: 1, description: 'refuse a larger file (default 100 MiB)' },
        reason: OPTIONAL_REASON,
      },
      ['path'],
    ),
    (b) => ({
      type: 'collect_file',
      path: String(b.path),
      ...(b.max_bytes !== undefined ? { maxBytes: Number(b.max_bytes) } : {}),
      ...(b.reason !== undefined ? { reason: String(b.reason) } : {}),
    }),
  ),
  {
    method: 'POST',
    url: '/agents/:id/restore-code',
    schema: { summary: "Show the agent's offline restore code (once)", params: idParams, body: NO_BODY },
    async handler(req, ctx) {
      const r = await service(ctx).revealRestoreCode(
        (req.params as { id: string }).id.toLowerCase(),
        actorOf(req),
        req.ip,
      );
      return {
        code: r.code,
        code_id: r.codeId,
        created_at: new Date(r.createdAt).toISOString(),
        shown_once: true,
      };
    },
  },
  {
    method: 'POST',
    url: '/agents/:id/restore-code/rotate',
    schema: {
      summary: "Replace the agent's offline restore code and show the new one",
      params: idParams,
      body: NO_BODY,
    },
    async handler(req, ctx) {
      const r = await service(ctx).rotateRestoreCode(
        (req.params as { id: string }).id.toLowerCase(),
        actorOf(req),
        req.ip,
      );
      return {
        code: r.code,
        code_id: r.codeId,
        created_at: new Date(r.createdAt).toISOString(),
        shown_once: true,
      };
    },
  },
];
