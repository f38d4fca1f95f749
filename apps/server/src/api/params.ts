import { PalisadeError } from '@palisade/common';

/**
 * parseTime converts a time parameter the `time` schema has let through (ms since the epoch, or
 * ISO 8601) into ms, refusing ISO-shaped text that is no real time ("2026-13-45").
 */
export function parseTime(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) {
    throw new PalisadeError(
      'validation_failed',
      `parameter ${name}: "${v}" is neither ms since the epoch nor an ISO 8601 time`,
    );
  }
  return ms;
}
