import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { GroupPolicy } from '@palisade/storage';
import {
  type AgentView,
  autoHalt,
  changeRollout,
  checkSchedule,
  DEFAULT_SCHEDULE,
  type Rollout,
  sharePercent,
  startRollout,
  whyNotOffered,
} from './rollout.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 30, 0, 0); // a Monday 00:00 UTC
const WINDOW: GroupPolicy['maintenanceWindow'] = {
  days: [1, 2, 3, 4, 5],
  start: '01:00',
  end: '03:00',
  timeZone: 'UTC',
};

/**
 * Fleet simulation, in process, with the deterministic eligibility function and an injected clock:
 * 1,000 agents (ids fixed, so the run is reproducible) on the stable channel, 800 with an "always"
 * window and 200 with a Monday-Friday 01:00-03:00 UTC window, stepped hourly over two simulated
 * weeks. An offered agent upgrades at once (its version becomes the release's). With 1,000 hashed
 * ids the sampling spread of a share is at most 1.6 points (binomial, p = 0.5), inside the ±2 %
 * the schedule is checked against. Real check-ins over the protocol are not part of this test.
 */
function fleet(): AgentView[] {
  return Array.from({ length: 1000 }, (_, i) => {
    const h = createHash('sha256').update(`agent ${i}`).digest('hex');
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
    return {
      id,
      version: '1.0.0',
      policy: { channel: 'stable', maintenanceWindow: i < 800 ? 'always' : WINDOW },
      rolledBack: [],
    };
  });
}

function inUtcWindow(now: number): boolean {
  const d = new Date(now);
  return d.getUTCDay() >= 1 && d.getUTCDay() <= 5 && d.getUTCHours() >= 1 && d.getUTCHours() < 3;
}

function step(
  agents: AgentView[],
  r: Rollout | undefined,
  now: number,
  release = { version: '1.1.0', channel: 'stable' as const },
) {
  let offered = 0;
  for (const a of agents) {
    if (whyNotOffered(a, release, r, now) !== undefined) continue;
    assert.ok(
      a.policy.maintenanceWindow === 'always' || inUtcWindow(now),
      `offered outside the window at ${new Date(now).toISOString()}`,
    );
    a.version = release.version;
    offered++;
  }
  return offered;
}

const upgraded = (agents: AgentView[], v = '1.1.0') => agents.filter((a) => a.version === v).length;

test('staged rollout over two simulated weeks follows the schedule within ±2 %, only inside maintenance windows', () => {
  const agents = fleet();
  const r = startRollout('1.1.0', 'stable', T0);
  for (let now = T0; now <= T0 + 15 * DAY; now += HOUR) {
    step(agents, r, now);
    const share = sharePercent(r, now);
    // Window agents catch up at their next window; the always-window ones track the share at once.
    const always = agents.slice(0, 800);
    const frac = (upgraded(always) / 800) * 100;
    assert.ok(
      Math.abs(frac - share) <= 2,
      `day ${((now - T0) / DAY).toFixed(2)}: ${frac.toFixed(1)} % upgraded, schedule ${share} %`,
    );
  }
  assert.equal(
    upgraded(agents),
    1000,
    'after 14 days every agent is offered (window agents in their window)',
  );
});

test('HALTED offers nothing new, CONTINUE resumes where it was, CANCELLED offers nothing and downgrades no one, COMPLETED offers everyone', () => {
  const agents = fleet().slice(0, 800);
  let r = startRollout('1.1.0', 'stable', T0);
  for (let now = T0; now < T0 + 3 * DAY; now += HOUR) step(agents, r, now);
  const before = upgraded(agents);
  assert.ok(Math.abs(before / 8 - 5) <= 2);
  r = changeRollout(r, 'halt', T0 + 3 * DAY, 'operator checks a report');
  for (let now = T0 + 3 * DAY; now < T0 + 9 * DAY; now += HOUR) assert.equal(step(agents, r, now), 0);
  assert.equal(sharePercent(r, T0 + 9 * DAY), 5, 'the schedule does not advance while halted');
  r = changeRollout(r, 'continue', T0 + 9 * DAY);
  // 6 halted days later, rollout time is day 3: still 5 %; it reaches 10 % at day 4 of rollout time.
  assert.equal(sharePercent(r, T0 + 9 * DAY), 5);
  assert.equal(sharePercent(r, T0 + 10 * DAY), 10);
  for (let now = T0 + 9 * DAY; now <= T0 + 10 * DAY; now += HOUR) step(agents, r, now);
  assert.ok(Math.abs(upgraded(agents) / 8 - 10) <= 2);
  assert.throws(() => changeRollout(r, 'continue', T0), /IN_PROGRESS: it cannot be asked to continue/);

  const cancelled = changeRollout(r, 'cancel', T0 + 10 * DAY);
  const kept = upgraded(agents);
  for (let now = T0 + 10 * DAY; now < T0 + 20 * DAY; now += 6 * HOUR)
    assert.equal(step(agents, cancelled, now), 0);
  assert.equal(upgraded(agents), kept, 'no one is downgraded');
  // The previous version is never offered to an upgraded agent (never lower than the agent's).
  const up = agents.find((a) => a.version === '1.1.0') as AgentView;
  assert.match(
    whyNotOffered(
      up,
      { version: '1.0.0', channel: 'stable' },
      startRollout('1.0.0', 'stable', T0),
      T0 + DAY,
    ) ?? '',
    /not newer/,
  );
  assert.throws(() => changeRollout(cancelled, 'complete', T0), /CANCELLED/);

  const fresh = fleet();
  const done = changeRollout(startRollout('1.1.0', 'stable', T0), 'complete', T0 + HOUR);
  step(fresh, done, T0 + 5 * HOUR); // Monday 05:00 UTC, outside the window
  assert.equal(upgraded(fresh.slice(0, 800)), 800);
  assert.equal(upgraded(fresh.slice(800)), 0, 'window agents wait for their window even when completed');
  step(fresh, done, T0 + 25 * HOUR + 30 * 60_000); // Tuesday 01:30 UTC
  assert.equal(upgraded(fresh), 1000);
});

test('beta releases are offered at once to beta-channel agents only; channels and rolled-back versions are respected', () => {
  const a: AgentView = {
    id: '0b7c2a31-5d8e-4f10-9a2b-3c4d5e6f7a8b',
    version: '1.0.0',
    policy: { channel: 'beta', maintenanceWindow: 'always' },
    rolledBack: [],
  };
  assert.equal(whyNotOffered(a, { version: '1.2.0', channel: 'beta' }, undefined, T0), undefined);
  const stable = { ...a, policy: { ...a.policy, channel: 'stable' as const } };
  assert.match(
    whyNotOffered(stable, { version: '1.2.0', channel: 'beta' }, undefined, T0) ?? '',
    /beta release, the policy takes stable/,
  );
  assert.match(
    whyNotOffered({ ...a, rolledBack: ['1.2.0'] }, { version: '1.2.0', channel: 'beta' }, undefined, T0) ??
      '',
    /rolled back/,
  );
  assert.match(
    whyNotOffered({ ...a, version: '1.2.0' }, { version: '1.2.0', channel: 'beta' }, undefined, T0) ?? '',
    /not newer/,
  );
});

test('a rollout halts itself when failures exceed its threshold, and says why', () => {
  const r = startRollout('1.1.0', 'preview', T0, { maxFailurePercent: 10, minAttempts: 10 });
  assert.equal(
    autoHalt(r, { eligible: 50, offered: 20, upgraded: 8, failed: 1, rolledBack: 0 }, T0).status,
    'IN_PROGRESS',
  );
  assert.equal(
    autoHalt(r, { eligible: 50, offered: 20, upgraded: 18, failed: 1, rolledBack: 1 }, T0).status,
    'IN_PROGRESS',
  );
  const halted = autoHalt(r, { eligible: 50, offered: 20, upgraded: 8, failed: 1, rolledBack: 2 }, T0);
  assert.equal(halted.status, 'HALTED');
  assert.match(halted.reason ?? '', /3 of 11 upgrades failed or rolled back \(27.3 % > 10 %\)/);
});

test('schedules are checked', () => {
  checkSchedule(DEFAULT_SCHEDULE);
  assert.throws(() => checkSchedule([{ afterMs: 5, percent: 100 }]), /start at time 0/);
  assert.throws(
    () =>
      checkSchedule([
        { afterMs: 0, percent: 10 },
        { afterMs: 0, percent: 100 },
      ]),
    /not later/,
  );
  assert.throws(
    () =>
      checkSchedule([
        { afterMs: 0, percent: 50 },
        { afterMs: 1, percent: 20 },
      ]),
    /does not raise/,
  );
  assert.throws(() => checkSchedule([{ afterMs: 0, percent: 50 }]), /end at 100/);
});
