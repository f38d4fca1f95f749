import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PalisadeError } from '@palisade/common';
import type { GroupPolicy } from '@palisade/storage';
import { applyPolicyChange, inMaintenanceWindow, parseWindow } from './policy.js';

const BASE: GroupPolicy = { revision: 7, tier: 'server', channel: 'stable', maintenanceWindow: 'always' };

function refused(fn: () => unknown, msg: RegExp): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof PalisadeError && e.code === 'validation_failed' && msg.test(e.message),
  );
}

describe('group policy validation', () => {
  test('days by number or name, sorted; times and zone kept', () => {
    assert.deepEqual(
      parseWindow({ days: ['Friday', 'mon', 0], start: '22:00', end: '04:30', time_zone: 'Asia/Kolkata' }),
      {
        days: [0, 1, 5],
        start: '22:00',
        end: '04:30',
        timeZone: 'Asia/Kolkata',
      },
    );
    assert.equal(parseWindow('always'), 'always');
  });

  test('what the schema cannot say is refused here, naming the field', () => {
    const w = { days: [1], start: '01:00', end: '02:00', time_zone: 'UTC' };
    refused(() => parseWindow({ ...w, end: '01:00' }), /would be empty/);
    refused(() => parseWindow({ ...w, days: ['someday'] }), /days\[0\]: "someday" is not a day/);
    refused(() => parseWindow({ ...w, days: ['mon', 'Monday'] }), /a day twice/);
    refused(() => parseWindow({ ...w, time_zone: 'CEST+2' }), /not an IANA time zone/);
  });

  test('a change bumps the revision once; no change returns the same policy', () => {
    const next = applyPolicyChange(BASE, { tier: 'workstation' });
    assert.deepEqual(next, { ...BASE, tier: 'workstation', revision: 8 });
    assert.equal(applyPolicyChange(BASE, { tier: 'server', channel: 'stable' }), BASE);
    assert.equal(applyPolicyChange(BASE, {}), BASE);
  });
});

describe('inMaintenanceWindow', () => {
  // 2026-11-27 is a Friday.
  const utc = (iso: string) => Date.parse(`${iso}Z`);
  const overnight = { days: [5], start: '22:00', end: '04:00', timeZone: 'UTC' };

  test('a window that crosses midnight belongs to the day it starts', () => {
    assert.equal(inMaintenanceWindow(overnight, utc('2026-11-27T21:59')), false);
    assert.equal(inMaintenanceWindow(overnight, utc('2026-11-27T22:00')), true);
    assert.equal(inMaintenanceWindow(overnight, utc('2026-11-28T03:59')), true);
    assert.equal(inMaintenanceWindow(overnight, utc('2026-11-28T04:00')), false);
    assert.equal(
      inMaintenanceWindow(overnight, utc('2026-11-27T03:00')),
      false,
      'Friday early morning is Thursday night',
    );
  });

  test("read in the window's time zone, daylight saving included", () => {
    const berlin = { days: [1], start: '02:00', end: '03:00', timeZone: 'Europe/Berlin' };
    // Monday 2026-07-06 02:30 in Berlin is 00:30 UTC (summer, +2); 2026-11-30 02:30 is 01:30 UTC (+1).
    assert.equal(inMaintenanceWindow(berlin, utc('2026-07-06T00:30')), true);
    assert.equal(inMaintenanceWindow(berlin, utc('2026-07-06T01:30')), false);
    assert.equal(inMaintenanceWindow(berlin, utc('2026-11-30T01:30')), true);
    assert.equal(inMaintenanceWindow('always', 0), true);
  });
});
