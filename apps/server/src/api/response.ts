import { PalisadeError } from '@palisade/common';
import type { FastifyRequest } from 'fastify';
import { commandView } from '../response/isolation-view.js';
import type { Actor, ResponseAction, ResponseService } from '../response/response-service.js';
import type { ApiContext, ApiRoute } from './context.js';
import { requestToken } from './route-guard.js';

const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** AGENT_ID_PARAMS is the schema of `:id` in /agents/:id/... */
export const AGENT_ID_PARAMS = {
  type: 'object',
  properties: { id: { type: 'string', pattern: UUID_PATTERN } },
  required: ['id'],
  additionalProperties: false,
} as const;

const REASON = { type: 'string', maxLength: 1000 } as const;

function body(properties: Record<string, unknown>, required: string[] = []) {
  return { type: 'object', properties, required, additionalProperties: false } as const;
}

function service(ctx: ApiContext): ResponseService {
  if (!ctx.response)
    throw new PalisadeError('unavailable', 'response actions are not available on this server');
  return ctx.response;
}

/** actorOf is the API token that asked, as the response side names actors. */
export function actorOf(req: FastifyRequest): Actor {
  const t = requestToken(req);
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
  url: string,
  schema: Record<string, unknown>,
  toAction: (b: Record<string, unknown>) => ResponseAction,
): ApiRoute {
  return {
    method: 'POST',
    url,
    status: 202,
    schema: { params: AGENT_ID_PARAMS, body: schema },
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
    '/agents/:id/isolate',
    body({ reason: { ...REASON, minLength: 1 } }, ['reason']),
    (b) => ({
      type: 'isolate',
      reason: String(b.reason),
    }),
  ),
  action('restore', '/agents/:id/restore', body({ reason: REASON }), (b) => ({
    type: 'restore',
    ...(b.reason !== undefined ? { reason: String(b.reason) } : {}),
  })),
  action(
    'kill-process',
    '/agents/:id/kill-process',
    body(
      {
        pid: { type: 'integer' },
        start_time: { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 64 }] },
        process_uid: { type: 'string', maxLength: 64 },
        tree: { type: 'boolean' },
        reason: REASON,
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
    '/agents/:id/quarantine-file',
    body({ path: { type: 'string', minLength: 1, maxLength: 4096 }, reason: REASON }, ['path']),
    (b) => ({
      type: 'quarantine_file',
      path: String(b.path),
      ...(b.reason !== undefined ? { reason: String(b.reason) } : {}),
    }),
  ),
  action(
    'restore-file',
    '/agents/:id/restore-file',
    body({ quarantine_id: { type: 'string', maxLength: 64 }, reason: REASON }, ['quarantine_id']),
    (b) => ({
      type: 'restore_file',
      quarantineId: String(b.quarantine_id).toLowerCase(),
      ...(b.reason !== undefined ? { reason: String(b.reason) } : {}),
    }),
  ),
  {
    method: 'POST',
    url: '/agents/:id/restore-code',
    schema: { params: AGENT_ID_PARAMS, body: body({}) },
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
    schema: { params: AGENT_ID_PARAMS, body: body({}) },
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
