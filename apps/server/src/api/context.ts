import type { Clock, Logger } from '@palisade/common';
import type { Storage } from '@palisade/storage';
import type { FastifyRequest, FastifySchema } from 'fastify';
import type { KeyRotation } from '../fleet/key-rotation.js';
import type { ResponseService } from '../response/response-service.js';
import type { SessionTable } from '../telemetry/session-table.js';

/** ApiContext is what admin API handlers use. */
export interface ApiContext {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  sessions: SessionTable;
  /** The registration key rotation job (absent when the server runs without one). */
  keyRotation?: KeyRotation;
  /** Response actions: commands, isolation, restore codes. */
  response?: ResponseService;
}

/** ApiRoute declares one admin API route; who may call it is in ROUTE_ROLES (route-roles.ts). */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below `/api/v1`, Fastify syntax (`/agents/:id`). */
  url: string;
  /** HTTP status of a success. @default 200 */
  status?: number;
  /** Fastify JSON schemas of the request (body, params, querystring), `additionalProperties: false`. */
  schema?: FastifySchema;
  handler(req: FastifyRequest, ctx: ApiContext): Promise<unknown>;
}
