import { CLASS_ALIASES } from '@palisade/protocol';
import type { AgentRecord } from '@palisade/storage';
import type { ConnectionState } from './session-table.js';

/** AgentHealth is the delivery health of one agent, as the API shows it (`health` of an agent). */
export interface AgentHealth {
  state: 'connected' | 'disconnected';
  channel: 'primary' | 'standby' | null;
  last_ack_at: string | null;
  /**
   * Channel of the agent's last stats report (stored, so it is also known for agents connected to
   * a standby-only process, which has its own session table).
   */
  reported_channel: string | null;
  /** Events waiting in the agent's spool at its last report. */
  spool_depth: number | null;
  /** Event time of the oldest event the agent had not delivered, and its age when this was read. */
  oldest_unsent_at: string | null;
  oldest_unsent_age_s: number | null;
  drops: {
    /** Events the kernel ring buffer dropped (sensor overload). */
    ring: number;
    /** Events dropped because a spool cap was reached: how many, of which kinds, over which span. */
    spool: number;
    spool_by_class: Record<string, number>;
    spool_first_at: string | null;
    spool_last_at: string | null;
    /** Damaged spool records detected and skipped (the rest was delivered). */
    corrupt_records: number;
    /** Of `ring`, exec/privilege/injection records lost from their reserved ring buffer. */
    ring_priority: number;
    /** Noisy file/network records the kernel's per-process rate limit held back (counted, not sent). */
    suppressed: number;
  };
  /** The kernel sensor's state: "ok", or "degraded: ..." while it loses events; null before a report. */
  sensor_health: string | null;
  /** When the agent last reported these figures (its last heartbeat or Hello). */
  reported_at: string | null;
}

const CLASS_NAMES = new Map<number, string>();
for (const [name, uid] of Object.entries(CLASS_ALIASES))
  if (!CLASS_NAMES.has(uid)) CLASS_NAMES.set(uid, name);

const num = (v: number | string | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;
const iso = (ms: number | null): string | null =>
  ms === null || ms <= 0 ? null : new Date(ms).toISOString();

function byClass(raw: number | string | undefined): Record<string, number> {
  if (typeof raw !== 'string') return {};
  try {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    const out: Record<string, number> = {};
    for (const [uid, n] of Object.entries(parsed)) {
      if (typeof n === 'number') out[CLASS_NAMES.get(Number(uid)) ?? `class_${uid}`] = n;
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * agentHealth combines the live connection (channel, last ack: this server process) with the
 * figures the agent reported last (spool depth, oldest unsent event, the spool's drop report).
 * The age of the oldest unsent event is computed at `nowMs` from the event time the agent sent.
 */
export function agentHealth(a: AgentRecord, c: ConnectionState, nowMs: number): AgentHealth {
  const s = a.stats;
  const oldest = num(s.oldestUnsentMs);
  return {
    state: c.state,
    channel: c.channel,
    last_ack_at: iso(c.lastAckAt),
    reported_channel: typeof s.channel === 'string' ? s.channel : null,
    spool_depth: num(s.spoolDepth),
    oldest_unsent_at: iso(oldest),
    oldest_unsent_age_s: oldest && oldest > 0 ? Math.max(0, Math.round((nowMs - oldest) / 1000)) : null,
    drops: {
      ring: num(s.ringDrops) ?? 0,
      spool: num(s.spoolDrops) ?? 0,
      spool_by_class: byClass(s.spoolDropsByClass),
      spool_first_at: iso(num(s.spoolDropFirstMs)),
      spool_last_at: iso(num(s.spoolDropLastMs)),
      corrupt_records: num(s.spoolCorruptRecords) ?? 0,
      ring_priority: num(s.ringDropsPriority) ?? 0,
      suppressed: num(s.suppressed) ?? 0,
    },
    sensor_health: typeof s.sensorHealth === 'string' && s.sensorHealth ? s.sensorHealth : null,
    reported_at: Object.keys(s).length ? iso(a.lastSeenAt) : null,
  };
}
