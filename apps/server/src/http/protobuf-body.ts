import { PalisadeError } from '@palisade/common';
import { LIMITS, fromBinary, toBinary } from '@palisade/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

// The message descriptor type, taken from the protocol package's own protobuf runtime.
type Schema = Parameters<typeof fromBinary>[0];

/** PROTOBUF_TYPE is the media type of registration and check-in bodies. */
export const PROTOBUF_TYPE = 'application/x-protobuf';

/** registerProtobufParser lets routes receive `application/x-protobuf` bodies as Buffers (size-capped). */
export function registerProtobufParser(app: FastifyInstance): void {
  app.addContentTypeParser(
    PROTOBUF_TYPE,
    { parseAs: 'buffer', bodyLimit: LIMITS.maxRequestBytes },
    (_req, body, done) => done(null, body),
  );
}

/** readProtobuf decodes the request body as `schema`, refusing other media types and malformed bytes. */
export function readProtobuf<S extends Schema>(
  req: FastifyRequest,
  schema: S,
): ReturnType<typeof fromBinary<S>> {
  if (!Buffer.isBuffer(req.body)) {
    throw new PalisadeError('unsupported_media_type', `body must be ${PROTOBUF_TYPE}`);
  }
  try {
    return fromBinary(schema, req.body);
  } catch (err) {
    throw new PalisadeError(
      'bad_request',
      `body is not a valid ${schema.name} message (${(err as Error).message})`,
    );
  }
}

/** sendProtobuf replies with `message` encoded as `schema`. */
export function sendProtobuf<S extends Schema>(
  reply: FastifyReply,
  schema: S,
  message: Parameters<typeof toBinary<S>>[1],
): FastifyReply {
  return reply.type(PROTOBUF_TYPE).send(Buffer.from(toBinary(schema, message)));
}
