import { PalisadeError } from '@palisade/common';
import { compareVersions, isEligible } from '@palisade/release';
import type { GroupPolicy } from '@palisade/storage';
import { type CHANNELS, inMaintenanceWindow } from '../fleet/policy.js';

/** RolloutStatus: IN_PROGRESS ramps up by schedule; HALTED offers nothing until continued; CANCELLED offers nothing and downgrades no one; COMPLETED offers every agent of the channel. */
export type RolloutStatus = 'IN_PROGRESS' | 'HALTED' | 'CANCELLED' | 'COMPLETED';
export type Channel = (typeof CHANNELS)[number];

/** ScheduleStep: from `afterMs` of (unhalted) rollout time on, `percent` of agents are eligible. */
export interface ScheduleStep {
  afterMs: number;
  percent: number;
}

const DAY = 86_400_000;
/** DEFAULT_SCHEDULE ramps over 14 days: 1 %, 5 % (day 2), 10 % (day 4), 25 % (day 7), 50 % (day 10), 100 % (day 14). */
export const DEFAULT_SCHEDULE: readonly ScheduleStep[] = [
  { afterMs: 0, percent: 1 },
  { afterMs: 2 * DAY, percent: 5 },
  { afterMs: 4 * DAY, percent: 10 },
  { afterMs: 7 * DAY, percent: 25 },
  { afterMs: 10 * DAY, percent: 50 },
  { afterMs: 14 * DAY, percent: 100 },
];

/** Rollout is one release's staged rollout on a channel. */
export interface Rollout {
  version: string;
  channel: Exclude<Channel, 'beta'>;
  status: RolloutStatus;
  startedAt: number;
  schedule: readonly ScheduleStep[];
  /** Time spent HALTED before the current halt: the schedule does not advance while halted. */
  haltedMs: number;
  haltedAt?: number;
  reason?: string;
  /** Halt by itself when failed + rolled back exceed this share of upgrade attempts... */
  maxFailurePercent: number;
  /** ...once at least this many attempts have finished. */
  minAttempts: number;
}

/** checkSchedule refuses a schedule that does not start at 0, go forward in time and up in share, and end at 100 %. */
export function checkSchedule(s: readonly ScheduleStep[]): void {
  const bad = (why: string) => new PalisadeError('validation_failed', `field schedule: ${why}`);
  if (s.length === 0 || s[0]?.afterMs !== 0) throw bad('must start at time 0');
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1] as ScheduleStep;
    const b = s[i] as ScheduleStep;
    if (b.afterMs <= a.afterMs) throw bad(`step ${i} is not later than step ${i - 1}`);
    if (b.percent <= a.percent) throw bad(`step ${i} does not raise the share`);
  }
  for (const st of s)
    if (!(st.percent > 0 && st.percent <= 100)) throw bad(`${st.percent} is not a share in (0, 100]`);
  if (s[s.length - 1]?.percent !== 100) throw bad('must end at 100 %');
}

/** startRollout starts a rollout of `version` on `channel` at `now`. */
export function startRollout(
  version: string,
  channel: Rollout['channel'],
  now: number,
  opts: { schedule?: readonly ScheduleStep[]; maxFailurePercent?: number; minAttempts?: number } = {},
): Rollout {
  const schedule = opts.schedule ?? DEFAULT_SCHEDULE;
  checkSchedule(schedule);
  return {
    version,
    channel,
    status: 'IN_PROGRESS',
    startedAt: now,
    schedule,
    haltedMs: 0,
    maxFailurePercent: opts.maxFailurePercent ?? 5,
    minAttempts: opts.minAttempts ?? 5,
  };
}

/** sharePercent is the share of agents a rollout offers its release to at `now`. */
export function sharePercent(r: Rollout, now: number): number {
  if (r.status === 'COMPLETED') return 100;
  if (r.status === 'CANCELLED') return 0;
  const until = r.status === 'HALTED' && r.haltedAt !== undefined ? r.haltedAt : now;
  const elapsed = until - r.startedAt - r.haltedMs;
  let share = 0;
  for (const st of r.schedule) if (elapsed >= st.afterMs) share = st.percent;
  return share;
}

export type RolloutAction = 'halt' | 'continue' | 'cancel' | 'complete';

/**
 * changeRollout applies an operator's (or the server's) action, refusing what the status does not
 * allow: halt only IN_PROGRESS, continue only HALTED, cancel or complete only one not yet ended.
 */
export function changeRollout(r: Rollout, action: RolloutAction, now: number, reason?: string): Rollout {
  const refuse = () =>
    new PalisadeError('conflict', `rollout of ${r.version} is ${r.status}: it cannot be asked to ${action}`);
  const ended = r.status === 'CANCELLED' || r.status === 'COMPLETED';
  switch (action) {
    case 'halt':
      if (r.status !== 'IN_PROGRESS') throw refuse();
      return { ...r, status: 'HALTED', haltedAt: now, ...(reason ? { reason } : {}) };
    case 'continue': {
      if (r.status !== 'HALTED') throw refuse();
      const { haltedAt, reason: _old, ...rest } = r;
      return { ...rest, status: 'IN_PROGRESS', haltedMs: r.haltedMs + (now - (haltedAt ?? now)) };
    }
    case 'cancel':
    case 'complete':
      if (ended) throw refuse();
      return { ...r, status: action === 'cancel' ? 'CANCELLED' : 'COMPLETED', ...(reason ? { reason } : {}) };
  }
}

/** Progress counts a rollout's agents. */
export interface Progress {
  eligible: number;
  offered: number;
  upgraded: number;
  failed: number;
  rolledBack: number;
}

/**
 * autoHalt halts an IN_PROGRESS rollout whose failures (failed + rolled back) exceed its threshold
 * share of finished attempts, once at least `minAttempts` have finished; it says why. Otherwise
 * the rollout is returned unchanged.
 */
export function autoHalt(r: Rollout, p: Progress, now: number): Rollout {
  if (r.status !== 'IN_PROGRESS') return r;
  const bad = p.failed + p.rolledBack;
  const attempts = p.upgraded + bad;
  if (attempts < r.minAttempts || (bad * 100) / attempts <= r.maxFailurePercent) return r;
  return changeRollout(
    r,
    'halt',
    now,
    `halted by the server: ${bad} of ${attempts} upgrades failed or rolled back (${((bad * 100) / attempts).toFixed(1)} % > ${r.maxFailurePercent} %)`,
  );
}

/** ReleaseOnChannel is a published release and the highest channel it has been promoted to. */
export interface ReleaseOnChannel {
  version: string;
  channel: Channel;
}

/** AgentView is what offering needs to know about an agent. */
export interface AgentView {
  id: string;
  version: string;
  policy: Pick<GroupPolicy, 'channel' | 'maintenanceWindow'>;
  /** Versions that were rolled back on this agent: never offered to it again. */
  rolledBack: readonly string[];
}

const RANK: Record<Channel, number> = { beta: 0, preview: 1, stable: 2 };

/**
 * whyNotOffered tells why `release` is not offered to `agent` at `now`, or undefined when it is.
 * A release is offered only when it is newer than the agent's version, was not rolled back on it,
 * the agent is inside its maintenance window, its policy's channel accepts the release (beta takes
 * beta, preview and stable releases; preview takes preview and stable; stable takes stable), and:
 * a beta release is offered at once; otherwise the agent is inside the rollout's current share
 * (COMPLETED: everyone; HALTED and CANCELLED: no one).
 */
export function whyNotOffered(
  agent: AgentView,
  release: ReleaseOnChannel,
  rollout: Rollout | undefined,
  now: number,
): string | undefined {
  if (compareVersions(release.version, agent.version) <= 0) return `not newer than ${agent.version}`;
  if (agent.rolledBack.includes(release.version)) return 'rolled back on this agent';
  if (RANK[release.channel] < RANK[agent.policy.channel])
    return `${release.channel} release, the policy takes ${agent.policy.channel}`;
  if (!inMaintenanceWindow(agent.policy.maintenanceWindow, now)) return 'outside the maintenance window';
  const viaBeta = agent.policy.channel === 'beta' && release.channel === 'beta';
  if (viaBeta) return undefined;
  if (!rollout) return 'no rollout';
  if (rollout.status === 'HALTED') return `rollout halted${rollout.reason ? `: ${rollout.reason}` : ''}`;
  if (rollout.status === 'CANCELLED') return 'rollout cancelled';
  if (!isEligible(agent.id, release.version, sharePercent(rollout, now)))
    return `not in the rollout's ${sharePercent(rollout, now)} %`;
  return undefined;
}
