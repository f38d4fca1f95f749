import { PalisadeError } from '@palisade/common';
import type { GroupPolicy } from '@palisade/storage';

/** TIERS, CHANNELS: the values a group policy may take. */
export const TIERS = ['server', 'workstation'] as const;
export const CHANNELS = ['beta', 'preview', 'stable'] as const;

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FULL_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/**
 * WindowInput is a maintenance window as the API takes it, its shape already checked by the
 * request schema (api/policy-schema.ts): "always", or days (0-6 or names), HH:MM times, a zone.
 */
export type WindowInput =
  | 'always'
  | { days: (number | string)[]; start: string; end: string; time_zone: string };

/** PolicyChange is a policy change as the API takes it (shape checked by the request schema). */
export interface PolicyChange {
  tier?: (typeof TIERS)[number];
  channel?: (typeof CHANNELS)[number];
  maintenance_window?: WindowInput;
}

function bad(field: string, why: string): PalisadeError {
  return new PalisadeError('validation_failed', `field ${field}: ${why}`);
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

function parseDay(v: number | string, i: number): number {
  if (typeof v === 'number') return v;
  const name = v.toLowerCase();
  const idx = DAY_NAMES.indexOf(name.slice(0, 3));
  if (idx >= 0 && (name === DAY_NAMES[idx] || name === FULL_NAMES[idx])) return idx;
  throw bad(
    `maintenance_window.days[${i}]`,
    `${JSON.stringify(v)} is not a day (0-6 with 0 = Sunday, or sun..sat)`,
  );
}

/**
 * parseWindow checks what the request schema cannot about a maintenance window: day names
 * (sun..sat or in full, any case), no day twice, start different from end (a window may cross
 * midnight: 22:00-04:30 starts on the listed day), and a time zone Intl knows.
 */
export function parseWindow(v: WindowInput): GroupPolicy['maintenanceWindow'] {
  if (v === 'always') return 'always';
  const days = v.days.map(parseDay);
  if (new Set(days).size !== days.length) throw bad('maintenance_window.days', 'lists a day twice');
  if (v.start === v.end) {
    throw bad('maintenance_window', `start and end are both ${v.start}: the window would be empty`);
  }
  if (!isTimeZone(v.time_zone)) {
    throw bad(
      'maintenance_window.time_zone',
      `${JSON.stringify(v.time_zone)} is not an IANA time zone (e.g. Europe/Berlin, UTC)`,
    );
  }
  return { days: [...days].sort((a, b) => a - b), start: v.start, end: v.end, timeZone: v.time_zone };
}

/**
 * applyPolicyChange applies a policy change (`tier`, `channel`, `maintenance_window`; each
 * optional) to the current policy and returns the new policy, with the revision bumped when
 * anything changed, or the current one unchanged (the same object). The API then gives a changed
 * policy the next revision across all groups (see fleet/revision.ts).
 */
export function applyPolicyChange(current: GroupPolicy, change: PolicyChange): GroupPolicy {
  const next: GroupPolicy = {
    revision: current.revision,
    tier: change.tier ?? current.tier,
    channel: change.channel ?? current.channel,
    maintenanceWindow:
      change.maintenance_window === undefined
        ? current.maintenanceWindow
        : parseWindow(change.maintenance_window),
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
