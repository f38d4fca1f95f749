import { PalisadeError } from '@palisade/common';

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * formatSchemaErrors turns what JSON-schema validation found into one validation_failed error that
 * names the field: `field pid: must be integer`, `field foo: unknown field (allowed: reason)`,
 * `field reason: required`. Route schemas use `additionalProperties: false`, so a typo is an error,
 * never silently dropped.
 */
export function formatSchemaErrors(
  errors: AjvError[],
  dataVar: string,
  allowed?: (path: string) => string[],
): PalisadeError {
  const what = dataVar === 'body' ? 'field' : 'parameter';
  const parts = errors.map((e) => {
    const at = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const prefix = at ? `${at}.` : '';
    if (e.keyword === 'additionalProperties') {
      const name = `${prefix}${String(e.params.additionalProperty)}`;
      const known = allowed?.(at) ?? [];
      return `${what} ${name}: unknown ${what}${known.length ? ` (allowed: ${known.join(', ')})` : ''}`;
    }
    if (e.keyword === 'required') return `${what} ${prefix}${String(e.params.missingProperty)}: required`;
    return `${what} ${at || dataVar}: ${e.message ?? e.keyword}`;
  });
  return new PalisadeError('validation_failed', parts.join('; '));
}
