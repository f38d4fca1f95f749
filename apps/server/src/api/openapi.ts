import { PROTOCOL_VERSION } from '@palisade/protocol';
import type { ApiRoute } from './context.js';
import { accessFor } from './route-roles.js';
import type { JsonSchema } from './schema.js';

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
    },
  },
};

function parameters(where: 'path' | 'query', schema: JsonSchema | undefined): object[] {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema?.required ?? []) as string[];
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.includes(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

/**
 * openApiDocument describes `routes` (mounted under `prefix`) as OpenAPI 3.1: each operation's
 * parameters and body are the route's own JSON schemas, its role (ROUTE_ROLES) is in
 * `x-palisade-role` and its security, and every error has the `{ error: { code, message } }` shape.
 */
export function openApiDocument(routes: readonly ApiRoute[], prefix: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const url = prefix + r.url;
    const path = url.replace(/:([A-Za-z_]\w*)/g, '{$1}');
    const role = accessFor(r.method, url);
    const ok = String(r.status ?? 200);
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.schema.summary,
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[/_-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      'x-palisade-role': role,
      security: role === 'public' ? [] : [{ bearer: [] }],
      parameters: [...parameters('path', r.schema.params), ...parameters('query', r.schema.querystring)],
      ...(r.schema.body
        ? {
            requestBody: {
              required: !(Array.isArray(r.schema.body.type) && r.schema.body.type.includes('null')),
              content: { 'application/json': { schema: r.schema.body } },
            },
          }
        : {}),
      responses: {
        [ok]: { description: 'success', content: { 'application/json': { schema: { type: 'object' } } } },
        default: {
          description: 'an error (validation_failed names the field)',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Palisade admin API',
      version: `v1 (protocol ${PROTOCOL_VERSION})`,
      description:
        'Admin API of the Palisade registration listener. Authenticate with `Authorization: Bearer <API token>`; the role each operation needs is in x-palisade-role.',
    },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ERROR_SCHEMA },
    },
  };
}
