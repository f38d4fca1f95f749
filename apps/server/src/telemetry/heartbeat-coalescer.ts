import type { Logger } from '@palisade/common';
import type { CapabilityRecord, Storage } from '@palisade/storage';

type Touch = Parameters<Storage['touchAgent']>[1];

/** Agents written per storage call when heartbeats are flushed. */
const FLUSH_CHUNK = 2000;

/**
 * HeartbeatCoalescer keeps only the latest heartbeat facts per agent and writes them to storage
 * every `intervalMs`, so thousands of agents heartbeating do not cost a database write each.
 */
export class HeartbeatCoalescer {
  private pending = new Map<string, Touch>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: Storage,
    private readonly logger: Logger,
    intervalMs = 5000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** update records the latest facts for an agent, merged over what is not yet written. */
  update(
    agentId: string,
    u: {
      lastSeenAt: number;
      stats?: Record<string, number | string>;
      policyRevision?: number;
      capabilities?: CapabilityRecord[];
    },
  ): void {
    const prev = this.pending.get(agentId);
    this.pending.set(agentId, prev ? { ...prev, ...u } : u);
  }

  /** flush writes everything pending. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const batch = [...this.pending].map(([id, update]) => ({ id, update }));
      this.pending = new Map();
      // One storage call (one transaction) per chunk instead of one per agent: with thousands of
      // agents connected, per-agent commits would keep the writer busy with heartbeats.
      for (let i = 0; i < batch.length; i += FLUSH_CHUNK) {
        const chunk = batch.slice(i, i + FLUSH_CHUNK);
        try {
          const unknown = await this.storage.touchAgents(chunk);
          if (unknown.length)
            this.logger.warn(
              { agentIds: unknown.slice(0, 10), count: unknown.length },
              'heartbeat for unknown agents',
            );
        } catch (err) {
          this.logger.warn({ err, agents: chunk.length }, 'could not record heartbeats');
        }
      }
    });
    return this.flushing;
  }

  /** close stops the timer and writes what is pending. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
