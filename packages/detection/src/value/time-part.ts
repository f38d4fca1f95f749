/** The time modifiers: the part of a date a value is compared with. */
export type TimeUnit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

export const TIME_UNITS: TimeUnit[] = ['minute', 'hour', 'day', 'week', 'month', 'year'];

/**
 * toDate reads an event's date value: a number is milliseconds since the epoch (Palisade's
 * event times), a string an ISO 8601 date-time (a space may separate date and time, as Sysmon
 * writes `UtcTime`); without a zone it is UTC. Anything else gives null.
 */
export function toDate(v: unknown): Date | null {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v);
  if (typeof v !== 'string') return null;
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(
      v.trim(),
    );
  if (!m) return null;
  const zone = m[8] && m[8] !== 'Z' ? m[8].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2') : 'Z';
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] ?? ''}${zone}`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** timePart extracts the unit from a date, in UTC; the week is the ISO 8601 week number. */
export function timePart(d: Date, unit: TimeUnit): number {
  switch (unit) {
    case 'minute':
      return d.getUTCMinutes();
    case 'hour':
      return d.getUTCHours();
    case 'day':
      return d.getUTCDate();
    case 'month':
      return d.getUTCMonth() + 1;
    case 'year':
      return d.getUTCFullYear();
    case 'week': {
      const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
      const day = t.getUTCDay() || 7;
      t.setUTCDate(t.getUTCDate() + 4 - day);
      const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
      return Math.ceil(((t.getTime() - yearStart) / 86400000 + 1) / 7);
    }
  }
}
