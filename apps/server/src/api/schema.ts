/**
 * JsonSchema is a JSON Schema object as Fastify's Ajv validates it (draft-07 keywords); OpenAPI 3.1
 * embeds the same objects, so the document at /api/v1/openapi.json is made from them as they are.
 * A `description` is part of the contract: validation errors quote it ("field name: "x y" is not
 * a group name (...)"), so phrase it as a noun that completes "is not ...".
 */
export type JsonSchema = { [key: string]: unknown };

/**
 * RouteSchema is what every admin API route declares (see ApiRoute). mountApi refuses a route
 * without the parts its method and path need: `querystring` on GET and DELETE, `body` on POST
 * and PATCH, `params` when the path has `:names`. Use the helpers below: `object()` sets
 * `additionalProperties: false`, so an unknown field or parameter is an error, not ignored.
 */
export interface RouteSchema {
  /** One line for the OpenAPI document. */
  summary: string;
  querystring?: JsonSchema;
  params?: JsonSchema;
  body?: JsonSchema;
}

/** object is a JSON object with exactly these properties (none other), `required` ones mandatory. */
export function object(
  properties: Record<string, JsonSchema>,
  required: string[] = [],
  description?: string,
): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    ...(required.length ? { required } : {}),
    ...(description ? { description } : {}),
  };
}

/** NO_QUERY is the querystring of a route that takes no parameters. */
export const NO_QUERY: JsonSchema = object({});

/** NO_BODY is the body of a POST that takes none: nothing, or an empty JSON object. */
export const NO_BODY: JsonSchema = { ...object({}), type: ['object', 'null'] };

/** optionalBody is a JSON object body that may also be left out (then the route sees null). */
export function optionalBody(properties: Record<string, JsonSchema>): JsonSchema {
  return { ...object(properties), type: ['object', 'null'] };
}

/** text is a string of 1 to `maxLength` characters. */
export function text(maxLength: number, description?: string): JsonSchema {
  return { type: 'string', minLength: 1, maxLength, ...(description ? { description } : {}) };
}

/** UUID_PATTERN matches a UUID in any case. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** uuid is a UUID (an agent, key or token id). */
export const uuid: JsonSchema = { type: 'string', pattern: UUID_PATTERN, description: 'a UUID' };

/** idParams are the params of `/things/:id` routes. */
export const idParams: JsonSchema = object({ id: uuid }, ['id']);

/** groupRef is a group given by name or id. */
export const groupRef: JsonSchema = text(128, 'a group name or id');

/** TIME_PATTERN: ms since the epoch, or an ISO 8601 date or date-time (Date.parse reads it). */
const TIME_PATTERN = '^(\\d{1,16}|\\d{4}-\\d{2}-\\d{2}([T ][\\d:.]+(Z|[+-]\\d{2}:?\\d{2})?)?)$';

/** time is a point in time: ms since the epoch or ISO 8601 (convert with parseTime). */
export const time: JsonSchema = {
  type: 'string',
  pattern: TIME_PATTERN,
  maxLength: 64,
  description: 'ms since the epoch or an ISO 8601 time',
};

/** limit is a page size. */
export const limit: JsonSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 1000,
  description: 'a page size from 1 to 1000 (default 100)',
};

/** cursor is an opaque paging cursor from a previous page. */
export const cursor: JsonSchema = text(512, 'a cursor from a previous page');

/** oneOf is a string from a fixed list. */
export function oneOf(values: readonly string[], description?: string): JsonSchema {
  return { type: 'string', enum: [...values], ...(description ? { description } : {}) };
}
