import type { FastifyInstance } from 'fastify';
import { NO_QUERY } from '../api/schema.js';
import type { ServerMetrics } from './registry.js';

/** METRICS_PATH is where Prometheus scrapes, on the registration listener (ADR 0031). */
export const METRICS_PATH = '/metrics';

/**
 * mountMetrics serves the registry in Prometheus' text format at /metrics. ROUTE_ROLES gives it
 * role `metrics`: any live API token may read it, and a token made with `--role metrics` may read
 * only it (fleet size and event rates are not for anyone who can reach the port).
 */
export function mountMetrics(app: FastifyInstance, metrics: ServerMetrics): void {
  app.route({
    method: 'GET',
    url: METRICS_PATH,
    schema: { querystring: NO_QUERY },
    handler: async (_req, reply) =>
      reply
        .code(200)
        .type(metrics.contentType)
        .send(await metrics.text()),
  });
}
