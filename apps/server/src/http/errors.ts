import { ERROR_CODES, type ErrorCode, type Logger, PalisadeError } from '@palisade/common';
import type { FastifyInstance } from 'fastify';
import { peerLogger } from '../peer-log.js';

/** errorBody is the JSON shape of every error the HTTP services return. */
export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

/** Fastify's own error codes mapped onto ours, so clients see one vocabulary. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
};

/**
 * installErrorHandlers makes every failure a JSON `{ error: { code, message } }`: PalisadeErrors
 * as thrown, Fastify's parser errors mapped to our codes, anything else a logged 500 that reveals
 * nothing internal. Unknown routes get a JSON 404.
 */
export function installErrorHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    // What a client sent decides these lines: limited per address, fields cut short.
    const log = peerLogger(logger, req.ip);
    if (err instanceof PalisadeError) {
      if (err.status >= 500) log.error({ err, reqId: req.id, url: req.url }, 'request failed');
      else
        log.warn(
          { reqId: req.id, code: err.code, msg: err.message, url: req.url, ip: req.ip },
          'request refused',
        );
      return reply.code(err.status).send(err.toJSON());
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped || (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)) {
      const code = mapped ?? 'bad_request';
      log.warn({ reqId: req.id, code, msg: err.message, url: req.url, ip: req.ip }, 'request refused');
      return reply.code(ERROR_CODES[code]).send(errorBody(code, err.message));
    }
    log.error({ err, reqId: req.id, url: req.url }, 'request failed');
    return reply.code(500).send(errorBody('internal', 'internal error; see the server log'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
