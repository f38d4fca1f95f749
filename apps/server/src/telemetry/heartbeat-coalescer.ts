import type { Logger } from '@palisade/common';
import type { CapabilityRecord, Storage } from '@palisade/storage';

type Touch = Parameters<Storage['touchAgent']>[1];

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
      const batch = this.pending;
      this.pending = new Map();
      for (const [agentId, u] of batch) {
        try {
          await this.storage.touchAgent(agentId, u);
        } catch (err) {
          this.logger.warn({ err, agentId }, 'could not record heartbeat');
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
