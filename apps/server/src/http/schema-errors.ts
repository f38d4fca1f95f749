import { PalisadeError } from '@palisade/common';
import { Ajv } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import type { JsonSchema } from '../api/schema.js';

/** AjvError is the part of an Ajv error object (with `verbose: true`) that messages are made from. */
export interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  /** With verbose: the schema that holds the failing keyword, and the value it failed on. */
  parentSchema?: {
    description?: string;
    enum?: unknown[];
    properties?: Record<string, { description?: string }>;
  };
  data?: unknown;
}

const AJV_BASE = {
  // Fastify's defaults would strip unknown properties silently; here an unknown field is an error.
  removeAdditional: false,
  useDefaults: false,
  // One error is enough to name the field, and allErrors lets a crafted body cost more.
  allErrors: false,
  // The schema and value of the failing keyword, which messages quote.
  verbose: true,
  allowUnionTypes: true,
} as const;

// Query strings and path params arrive as text: "5" may become 5, and a repeated parameter an
// array (which a scalar schema then refuses as "given more than once"). JSON bodies have types
// of their own, which are taken as sent.
const textParts = new Ajv({ ...AJV_BASE, coerceTypes: 'array' });
const jsonParts = new Ajv({ ...AJV_BASE, coerceTypes: false });

/** validatorCompiler compiles route schemas for Fastify: exact types for bodies, coercion elsewhere. */
export const validatorCompiler: FastifySchemaCompiler<JsonSchema> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? jsonParts : textParts).compile(schema);

const quote = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
};

/** fieldPath turns an Ajv instance path (`/maintenance_window/days/0`) into `maintenance_window.days[0]`. */
function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (child !== undefined) parts.push(child);
  let out = '';
  for (const p of parts) {
    const key = p.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out === '' ? key : `.${key}`;
  }
  return out;
}

function what(e: AjvError): string {
  const described = e.parentSchema?.description;
  switch (e.keyword) {
    case 'required': {
      const p = e.parentSchema?.properties?.[String(e.params.missingProperty)] as
        | { description?: string; enum?: unknown[] }
        | undefined;
      if (p?.description) return `required (${p.description})`;
      return p?.enum ? `required (one of ${p.enum.join(', ')})` : 'required';
    }
    case 'additionalProperties': {
      const allowed = Object.keys(e.parentSchema?.properties ?? {});
      return allowed.length ? `unknown (allowed: ${allowed.join(', ')})` : 'unknown (none are taken here)';
    }
    case 'type': {
      const ps = e.parentSchema as { enum?: unknown[] } | undefined;
      if (ps?.enum) return `${quote(e.data)} is not one of ${ps.enum.join(', ')}`;
      if (described) break;
      const types = String(e.params.type).split(',');
      const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
      return `${quote(e.data)} is not ${types.map(article).join(' or ')}`;
    }
    case 'maxLength':
      return `longer than ${e.params.limit} characters`;
    case 'minLength':
      if (e.params.limit === 1) return 'must not be empty';
      break;
    case 'enum':
      return `${quote(e.data)} is not one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
    case 'maxItems':
      return `lists more than ${e.params.limit}`;
    case 'minItems':
      return `must list at least ${e.params.limit === 1 ? 'one' : e.params.limit}`;
  }
  return described
    ? `${quote(e.data)} is not ${described}`
    : `${quote(e.data)}: ${e.message ?? 'is not valid'}`;
}

/**
 * schemaErrorMessage turns Ajv's errors for one part of a request into one message that names the
 * field: `field policy.tier: "x" is not one of server, workstation`, `parameter limit: 5000 is not
 * a page size from 1 to 1000`, `field colour: unknown (allowed: group)`. Of several errors it
 * reports the deepest; where alternatives (anyOf) all failed at the same place, the alternatives'
 * own description.
 */
export function schemaErrorMessage(errors: AjvError[], dataVar: string): string {
  const noun = dataVar === 'body' ? 'field' : 'parameter';
  const depth = (e: AjvError) =>
    e.instancePath.split('/').length +
    (e.keyword === 'required' || e.keyword === 'additionalProperties' ? 1 : 0);
  let deepest = errors[0];
  for (const e of errors) if (deepest && depth(e) > depth(deepest)) deepest = e;
  if (!deepest) return `${dataVar}: not valid`;
  let pick: AjvError = deepest;
  const alternatives = errors.find(
    (e) =>
      (e.keyword === 'anyOf' || e.keyword === 'oneOf') &&
      e.instancePath === deepest.instancePath &&
      depth(e) === depth(deepest),
  );
  if (alternatives?.parentSchema?.description) pick = alternatives;
  const child =
    pick.keyword === 'required'
      ? String(pick.params.missingProperty)
      : pick.keyword === 'additionalProperties'
        ? String(pick.params.additionalProperty)
        : undefined;
  const path = fieldPath(pick.instancePath, child);
  if (path === '') {
    // The whole body or query string.
    if (pick.keyword === 'type')
      return dataVar === 'body' ? 'body must be a JSON object' : `${dataVar} must be an object`;
    return `${dataVar}: ${what(pick)}`;
  }
  if (pick.keyword === 'type' && dataVar !== 'body' && Array.isArray(pick.data))
    return `${noun} ${path}: given more than once`;
  if (pick.keyword === 'additionalProperties')
    return `${noun} ${path}: unknown ${noun}${what(pick).slice('unknown'.length)}`;
  return `${noun} ${path}: ${what(pick)}`;
}

/** schemaErrorFormatter is Fastify's hook for validation errors: a PalisadeError `validation_failed`. */
export function schemaErrorFormatter(errors: unknown[], dataVar: string): Error {
  return new PalisadeError('validation_failed', schemaErrorMessage(errors as AjvError[], dataVar));
}
