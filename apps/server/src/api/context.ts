import type { Clock, Logger } from '@palisade/common';
import type { Role, Storage } from '@palisade/storage';
import type { FastifyRequest } from 'fastify';
import type { SessionTable } from '../telemetry/session-table.js';

/** ApiContext is what admin API handlers use. */
export interface ApiContext {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  sessions: SessionTable;
}

/** ApiRoute declares one admin API route and the least role that may call it ('public': no token). */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below `/api/v1`, Fastify syntax (`/agents/:id`). */
  url: string;
  role: Role | 'public';
  /** HTTP status of a success. @default 200 */
  status?: number;
  handler(req: FastifyRequest, ctx: ApiContext): Promise<unknown>;
}
