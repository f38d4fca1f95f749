import { PalisadeError } from '@palisade/common';
import type { GroupPolicy } from '@palisade/storage';

/** TIERS, CHANNELS: the values a group policy may take. */
export const TIERS = ['server', 'workstation'] as const;
export const CHANNELS = ['beta', 'preview', 'stable'] as const;

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function bad(field: string, why: string): PalisadeError {
  return new PalisadeError('validation_failed', `field ${field}: ${why}`);
}

function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw bad(field, `${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  }
  return v as T;
}

/** isTimeZone tells whether `tz` is an IANA time zone this runtime knows (Intl decides). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function parseDay(v: unknown, i: number): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 6) return v;
  if (typeof v === 'string' && DAY_NAMES.includes(v.slice(0, 3).toLowerCase()) && v.length >= 3) {
    const name = v.toLowerCase();
    const idx = DAY_NAMES.indexOf(name.slice(0, 3));
    const full = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'][idx]!;
    if (name === DAY_NAMES[idx] || name === full) return idx;
  }
  throw bad(
    `maintenance_window.days[${i}]`,
    `${JSON.stringify(v)} is not a day (0-6 with 0 = Sunday, or sun..sat)`,
  );
}

/**
 * parseWindow validates a maintenance window: "always", or `{ days, start, end, time_zone }` with
 * at least one day, times as HH:MM (24 h), start different from end (a window may cross midnight:
 * 22:00-04:30 starts on the listed day) and an IANA time zone.
 */
export function parseWindow(v: unknown): GroupPolicy['maintenanceWindow'] {
  if (v === 'always') return 'always';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw bad('maintenance_window', 'must be "always" or an object { days, start, end, time_zone }');
  }
  const w = v as Record<string, unknown>;
  for (const k of Object.keys(w)) {
    if (!['days', 'start', 'end', 'time_zone'].includes(k)) {
      throw bad(`maintenance_window.${k}`, 'unknown field (allowed: days, start, end, time_zone)');
    }
  }
  if (!Array.isArray(w.days) || w.days.length === 0)
    throw bad('maintenance_window.days', 'must list at least one day');
  if (w.days.length > 7) throw bad('maintenance_window.days', 'lists more than 7 days');
  const days = w.days.map(parseDay);
  if (new Set(days).size !== days.length) throw bad('maintenance_window.days', 'lists a day twice');
  for (const f of ['start', 'end'] as const) {
    if (typeof w[f] !== 'string' || !HHMM.test(w[f] as string)) {
      throw bad(`maintenance_window.${f}`, `${JSON.stringify(w[f])} is not a time HH:MM from 00:00 to 23:59`);
    }
  }
  if (w.start === w.end) {
    throw bad('maintenance_window', `start and end are both ${w.start as string}: the window would be empty`);
  }
  if (typeof w.time_zone !== 'string' || w.time_zone.length > 64 || !isTimeZone(w.time_zone)) {
    throw bad(
      'maintenance_window.time_zone',
      `${JSON.stringify(w.time_zone)} is not an IANA time zone (e.g. Europe/Berlin, UTC)`,
    );
  }
  return {
    days: [...days].sort((a, b) => a - b),
    start: w.start as string,
    end: w.end as string,
    timeZone: w.time_zone,
  };
}

/**
 * applyPolicyChange validates a policy change (`tier`, `channel`, `maintenance_window`; each
 * optional, unknown fields refused) against the current policy and returns the new policy, with
 * the revision bumped when anything changed, or the current one unchanged (the same object). The
 * API then gives a changed policy the next revision across all groups (see fleet/revision.ts).
 */
export function applyPolicyChange(current: GroupPolicy, body: Record<string, unknown>): GroupPolicy {
  for (const k of Object.keys(body)) {
    if (!['tier', 'channel', 'maintenance_window'].includes(k)) {
      throw bad(k, 'unknown field (allowed: tier, channel, maintenance_window)');
    }
  }
  const next: GroupPolicy = {
    revision: current.revision,
    tier: body.tier === undefined ? current.tier : oneOf('tier', body.tier, TIERS),
    channel: body.channel === undefined ? current.channel : oneOf('channel', body.channel, CHANNELS),
    maintenanceWindow:
      body.maintenance_window === undefined
        ? current.maintenanceWindow
        : parseWindow(body.maintenance_window),
  };
  const changed = JSON.stringify({ ...next, revision: 0 }) !== JSON.stringify({ ...current, revision: 0 });
  return changed ? { ...next, revision: current.revision + 1 } : current;
}

/** policyView is the API's JSON for a policy. */
export function policyView(p: GroupPolicy): object {
  const w = p.maintenanceWindow;
  return {
    revision: p.revision,
    tier: p.tier,
    channel: p.channel,
    maintenance_window:
      w === 'always' ? 'always' : { days: w.days, start: w.start, end: w.end, time_zone: w.timeZone },
  };
}

const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * inMaintenanceWindow tells whether `nowMs` falls inside the window, read in the window's time
 * zone (so daylight saving time moves it with the local clock). A window that crosses midnight
 * belongs to the day it starts: "fri 22:00-04:00" includes Saturday 03:00, not Friday 03:00.
 */
export function inMaintenanceWindow(w: GroupPolicy['maintenanceWindow'], nowMs: number): boolean {
  if (w === 'always') return true;
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: w.timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(nowMs);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = WEEKDAY[get('weekday')] ?? -1;
  const now = Number(get('hour')) * 60 + Number(get('minute'));
  const start = minutes(w.start);
  const end = minutes(w.end);
  if (start < end) return w.days.includes(day) && now >= start && now < end;
  const yesterday = (day + 6) % 7;
  return (w.days.includes(day) && now >= start) || (w.days.includes(yesterday) && now < end);
}
