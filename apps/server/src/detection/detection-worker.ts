import { Worker } from 'node:worker_threads';
import type { Clock, Logger } from '@palisade/common';
import type { DetectionLag, NewAlert, Storage } from '@palisade/storage';
import type { AlertBus } from './alert-bus.js';
import { attack, type Hit } from './evidence.js';
import type { RuleLoadStatus, RulesConfig, ThreadReply, ThreadRequest } from './thread-protocol.js';

/** DetectionWorkerOptions configure the detection worker. */
export interface DetectionWorkerOptions {
  storage: Storage;
  bus: AlertBus;
  clock: Clock;
  logger: Logger;
  rules: RulesConfig;
  /** Repeats of a rule on a host within this window fold into one alert. @default 1 hour */
  groupWindowMs?: number;
  /** Pause when nothing waits. @default 200 ms */
  idleMs?: number;
  /** Most batches / events per pass. @default 512 / 50000 */
  maxBatches?: number;
  maxEvents?: number;
  /** Log a warning when this many events wait (and again at every doubling). @default 100000 */
  lagWarnEvents?: number;
}

/** foldHits turns a pass's hits into alert candidates, one per group key (count, first/last seen, evidence). */
export function foldHits(hits: Hit[], eventIdOf: (batchId: number, index: number) => string): NewAlert[] {
  const byKey = new Map<string, NewAlert>();
  for (const h of hits) {
    const evidence = h.evidence.map(({ batchId, index, ...e }) => ({
      ...e,
      eventId: eventIdOf(batchId, index),
    }));
    const prev = byKey.get(h.groupKey);
    if (prev) {
      prev.count++;
      prev.firstSeenMs = Math.min(prev.firstSeenMs, h.firstSeenMs);
      prev.lastSeenMs = Math.max(prev.lastSeenMs, h.lastSeenMs);
      prev.evidence.push(...evidence);
      prev.droppedEvidence += h.droppedEvidence;
      continue;
    }
    const { tactics, techniques } = attack(h.tags);
    byKey.set(h.groupKey, {
      id: crypto.randomUUID(),
      agentId: h.agentId,
      hostname: h.hostname,
      ruleId: h.ruleId,
      ruleTitle: h.ruleTitle,
      ruleKind: h.ruleKind,
      ruleDescription: h.ruleDescription,
      severity: h.severity,
      tactics,
      techniques,
      groupKey: h.groupKey,
      count: 1,
      firstSeenMs: h.firstSeenMs,
      lastSeenMs: h.lastSeenMs,
      evidence,
      droppedEvidence: h.droppedEvidence,
    });
  }
  return [...byKey.values()];
}

/**
 * DetectionWorker follows the stored batches in commit order from the durable detection cursor:
 * it reads a slice after the cursor, has the detection thread decode and evaluate it, and commits
 * the alerts together with the new cursor (Storage.commitDetections), then publishes them on the
 * AlertBus. A crash before a commit redoes that slice; after it, nothing repeats.
 */
export class DetectionWorker {
  private thread: Worker;
  private pending: ((r: ThreadReply) => void)[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private warnedAt = 0;
  private statuses: RuleLoadStatus[] = [];
  private readonly firstRules: Promise<void>;
  private suspended: string[] = [];
  readonly stats = { passes: 0, batches: 0, events: 0, alertsCreated: 0, alertsFolded: 0, skipped: 0 };

  constructor(private o: DetectionWorkerOptions) {
    this.thread = new Worker(new URL('./detect-thread.js', import.meta.url), { workerData: o.rules });
    this.thread.on('message', (r: ThreadReply) => {
      if (r.type === 'rules' && this.pending.length === 0) this.statuses = r.statuses;
      else this.pending.shift()?.(r);
    });
    this.thread.on('error', (err) => o.logger.error({ err: err.message }, 'detection thread failed'));
    this.firstRules = new Promise((resolve) => {
      this.pending.push((r) => {
        if (r.type === 'rules') this.statuses = r.statuses;
        resolve();
      });
    });
  }

  private ask(req: ThreadRequest): Promise<ThreadReply> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.thread.postMessage(req);
    });
  }

  /** start runs the follow loop until stop. */
  async start(): Promise<void> {
    await this.firstRules;
    const loaded = this.statuses.filter((s) => s.state === 'loaded').length;
    this.o.logger.info({ loaded, rules: this.statuses.length }, 'detection started');
    this.loop = this.run();
  }

  /** rulesConfig is where rules are loaded from now. */
  get rulesConfig(): RulesConfig {
    return this.o.rules;
  }

  /** ruleStatuses: each rule's load state, as of the last (re)load. */
  ruleStatuses(): RuleLoadStatus[] {
    return this.statuses;
  }

  /** reload loads the rules again (new paths or disabled set) without stopping detection. */
  async reload(rules: RulesConfig): Promise<RuleLoadStatus[]> {
    this.o.rules = rules;
    const r = await this.ask({ type: 'rules', config: rules });
    if (r.type === 'rules') this.statuses = r.statuses;
    return this.statuses;
  }

  lag(): Promise<DetectionLag> {
    return this.o.storage.detectionLag();
  }

  private hostnames = new Map<string, string>();
  private async hostname(agentId: string): Promise<string> {
    let h = this.hostnames.get(agentId);
    if (h === undefined) {
      h = (await this.o.storage.getAgent(agentId))?.host.hostname ?? '';
      this.hostnames.set(agentId, h);
    }
    return h;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let did = false;
      try {
        did = await this.pass();
      } catch (err) {
        this.o.logger.error({ err: (err as Error).message }, 'detection pass failed; retrying');
      }
      if (!did && !this.stopped) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.o.idleMs ?? 200);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  /** pass evaluates one slice after the cursor and commits it; false when nothing waited. */
  async pass(): Promise<boolean> {
    const s = this.o.storage;
    const from = (await s.detectionCursor()).batchId;
    const batches = await s.readBatchesAfter(from, this.o.maxBatches ?? 512, this.o.maxEvents ?? 50_000);
    if (batches.length === 0) return false;
    const req: ThreadRequest = { type: 'eval', batches: [] };
    for (const b of batches) {
      if (b.unreadable) {
        this.stats.skipped++;
        this.o.logger.warn(
          { agentId: b.agentId, seq: String(b.seq), reason: b.unreadable },
          'detection skipped an unreadable batch',
        );
      }
      req.batches.push({
        batchId: b.batchId,
        agentId: b.agentId,
        hostname: await this.hostname(b.agentId),
        body: b.body,
      });
    }
    const reply = await this.ask(req);
    if (reply.type !== 'hits') throw new Error('detection thread answered out of turn');
    for (const k of reply.skipped) {
      this.stats.skipped++;
      this.o.logger.warn(
        { batchId: k.batchId, reason: k.reason },
        'detection could not decode a stored batch',
      );
    }
    if (reply.suspended.join() !== this.suspended.join()) {
      this.suspended = reply.suspended;
      if (reply.suspended.length)
        this.o.logger.warn({ rules: reply.suspended }, 'rules suspended: they matched most events (runaway)');
    }
    const alerts = foldHits(reply.hits, (b, i) => s.eventIdOf(b, i));
    const to = batches.at(-1)!.batchId;
    const changes = await s.commitDetections({
      from,
      to,
      alerts,
      groupWindowMs: this.o.groupWindowMs ?? 3_600_000,
      at: this.o.clock.now(),
    });
    this.stats.passes++;
    this.stats.batches += batches.length;
    this.stats.events += batches.reduce((n, b) => n + b.eventCount, 0);
    for (const c of changes) this.stats[c.change === 'created' ? 'alertsCreated' : 'alertsFolded']++;
    this.o.bus.publish(changes);
    await this.checkLag();
    return true;
  }

  private async checkLag(): Promise<void> {
    const warn = this.o.lagWarnEvents ?? 100_000;
    const lag = await this.o.storage.detectionLag();
    if (lag.events >= warn && lag.events >= this.warnedAt * 2) {
      this.warnedAt = lag.events;
      this.o.logger.warn(
        { events: lag.events, batches: lag.batches, oldestPendingReceivedAt: lag.oldestPendingReceivedAt },
        'detection is falling behind ingest',
      );
    } else if (lag.events < warn / 2) this.warnedAt = 0;
  }

  /** stop finishes the pass in progress (its commit), then ends the thread. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.thread.terminate();
  }
}
