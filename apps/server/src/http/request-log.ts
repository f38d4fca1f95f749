import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '@palisade/common';
import type { FastifyInstance } from 'fastify';

/** REQUEST_ID_HEADER carries a request's id: taken from the caller when well-formed, always answered. */
export const REQUEST_ID_HEADER = 'x-request-id';

const CALLER_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * requestId is the id of one request: the caller's `X-Request-Id` when it is 1 to 64 characters
 * of `A-Z a-z 0-9 . _ : -` (so a proxy's id follows the request into our log and nothing else
 * can be smuggled into it), a random UUID otherwise.
 */
export function requestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && CALLER_ID.test(given) ? given : randomUUID();
}

/**
 * installRequestLog answers every request with its id (`X-Request-Id`) and logs one line per
 * finished request at info level: id, method, route pattern, path (no query string: search text
 * may be sensitive), status, duration and client address. Headers and bodies are never logged,
 * so neither API tokens nor registration keys can reach the log from here.
 */
export function installRequestLog(app: FastifyInstance, logger: Logger): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    logger.info(
      {
        reqId: req.id,
        method: req.method,
        route: req.routeOptions.url ?? null,
        path: (req.url.split('?')[0] ?? '').slice(0, 200),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        ip: req.ip,
      },
      'request',
    );
  });
}
