import type { Clock, Logger } from '@palisade/common';
import type { Storage } from '@palisade/storage';
import type { DetectionWorker } from '../detection/detection-worker.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRotation } from '../fleet/key-rotation.js';
import type { PlaybookService } from '../playbooks/playbook-service.js';
import type { ResponseService } from '../response/response-service.js';
import type { SessionTable } from '../telemetry/session-table.js';
import type { WriterHealth } from './health.js';
import type { RouteSchema } from './schema.js';
import type { ServerTls } from '../tls/server-tls.js';
import type { ServerMetrics } from '../metrics/registry.js';

/** ApiContext is what admin API handlers use. */
export interface ApiContext {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  sessions: SessionTable;
  /** The registration key rotation job (absent when the server runs without one). */
  keyRotation?: KeyRotation;
  /** The group-commit writers of the telemetry listeners (health reports them). */
  ingest?: () => WriterHealth[];
  /** The live TLS material: certificate expiry for health, CA rotation (absent in API-only tests). */
  tls?: ServerTls;
  /** Response actions: commands, isolation, restore codes. */
  response?: ResponseService;
  /** The Prometheus registry served at /metrics (absent: no /metrics route). */
  metrics?: ServerMetrics;
  /** The data directory /readyz checks for writes (absent in API-only tests). */
  dataDir?: string;
  /** Playbooks: automations that act when alerts match. */
  playbooks?: PlaybookService;
  /** The detection worker: rule statuses and reload (absent when detection is off). */
  detection?: DetectionWorker;
}

/** ApiReply is a handler's answer with a status other than the route's usual one. */
export class ApiReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/**
 * ApiRoute declares one admin API route: its request schema (validated by Fastify before the
 * handler runs, and published in the OpenAPI document), and its handler. Who may call it is in
 * ROUTE_ROLES (route-roles.ts). The handler sees `req.query`, `req.params` and `req.body` already
 * checked against `schema`; it converts and checks only what a schema cannot say (does the group
 * exist, is `to` after `from`).
 */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below `/api/v1`, Fastify syntax (`/agents/:id`). */
  url: string;
  /** HTTP status of a success. @default 200 */
  status?: number;
  schema: RouteSchema;
  /**
   * `reply` is for what a JSON body cannot carry: a Set-Cookie header, or a stream the handler
   * takes over (reply.hijack(); its return value is then ignored).
   */
  handler(req: FastifyRequest, ctx: ApiContext, reply: FastifyReply): Promise<unknown>;
}
