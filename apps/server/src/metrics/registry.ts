import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Listener is the telemetry listener a metric is about. */
export type Listener = 'primary' | 'standby';

const LISTENER = ['listener'] as const;
/** Events per batch: agents seal a batch at a few hundred to a few thousand events. */
const BATCH_EVENT_BUCKETS = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Compressed batch bytes. */
const BATCH_BYTE_BUCKETS = [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];
/** Seconds from a batch's arrival to its ack, and of one storage commit. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * ServerMetrics is the one registry of the server's Prometheus metrics (ADR 0031). Each metric is
 * one field below; adding one is adding a line here and calling it where the thing happens (or,
 * for a value read at scrape time, a `collect` in `bindSources`). Each server has its own registry
 * (tests run several in one process); the process metrics (CPU, RSS, heap, event loop, file
 * descriptors) are prom-client's defaults, under their usual names.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** The node label: which server process a series comes from. */
  readonly node: string;
  private sources: MetricSources | undefined;

  readonly agentsConnected = this.gauge(
    'palisade_agents_connected',
    'Agents with an open telemetry session',
    ['listener', 'node'],
    (g, s) => {
      g.reset();
      const n = { primary: 0, standby: 0 };
      for (const live of s.sessions()) n[live.channel]++;
      for (const listener of s.listeners()) g.set({ listener, node: this.node }, n[listener]);
    },
  );
  readonly batchesReceived = this.counter(
    'palisade_batches_received_total',
    'Batch frames received from agents',
    LISTENER,
  );
  readonly eventsReceived = this.counter(
    'palisade_events_received_total',
    'Events in received batch frames (as declared by the frame)',
    LISTENER,
  );
  readonly eventsStored = this.counter(
    'palisade_events_stored_total',
    'Events durably stored (duplicates not counted)',
    LISTENER,
  );
  readonly batchesStored = this.counter(
    'palisade_batches_stored_total',
    'Batches answered after a commit, by outcome (stored, duplicate)',
    ['listener', 'outcome'],
  );
  readonly batchesRefused = this.counter(
    'palisade_batches_refused_total',
    'Batch frames refused as malformed (crc, size, protobuf, count)',
    LISTENER,
  );
  readonly batchEvents = this.histogram(
    'palisade_batch_events',
    'Events per received batch',
    LISTENER,
    BATCH_EVENT_BUCKETS,
  );
  readonly batchBytes = this.histogram(
    'palisade_batch_bytes',
    'Compressed payload bytes per received batch',
    LISTENER,
    BATCH_BYTE_BUCKETS,
  );
  readonly ackLatency = this.histogram(
    'palisade_ack_latency_seconds',
    'From a batch arriving to its ack being sent (durably stored)',
    LISTENER,
    LATENCY_BUCKETS,
  );
  readonly commitSeconds = this.histogram(
    'palisade_storage_commit_seconds',
    'Duration of one group commit (storeBatches) of a telemetry listener',
    LISTENER,
    LATENCY_BUCKETS,
  );
  readonly commitFailures = this.counter(
    'palisade_storage_commit_failures_total',
    'Group commits that failed (their batches were not acked)',
    LISTENER,
  );
  readonly flowSlowDowns = this.counter(
    'palisade_flow_control_pauses_total',
    'FlowControl frames sent to slow an agent down',
    LISTENER,
  );
  readonly flowResumes = this.counter(
    'palisade_flow_control_resumes_total',
    'FlowControl frames sent to give an agent its window back',
    LISTENER,
  );
  readonly queuedBytes = this.gauge(
    'palisade_ingest_queued_bytes',
    'Compressed batch bytes waiting for or in a commit',
    LISTENER,
    (g, s) => {
      for (const listener of s.listeners()) g.set({ listener }, s.queuedBytes(listener));
    },
  );
  readonly commands = this.gauge(
    'palisade_commands',
    'Response commands by state',
    ['state'],
    async (g, s) => {
      for (const [state, n] of Object.entries(await s.commandCounts())) g.set({ state }, n);
    },
  );
  readonly storageWriterUp = this.gauge(
    'palisade_storage_writer_up',
    '1 while the storage writer runs, 0 otherwise',
    [],
    (g, s) => {
      g.set(s.storageWriterRunning() ? 1 : 0);
    },
  );

  constructor(o: { node?: string; processMetrics?: boolean } = {}) {
    this.node = o.node ?? hostname();
    if (o.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** text is the exposition format Prometheus scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** forListener is the part of the metrics one telemetry listener updates, labelled with it. */
  forListener(listener: Listener): ListenerMetrics {
    const l = { listener };
    return {
      received: (events, bytes) => {
        this.batchesReceived.inc(l);
        this.eventsReceived.inc(l, events);
        this.batchEvents.observe(l, events);
        this.batchBytes.observe(l, bytes);
      },
      acked: (seconds) => this.ackLatency.observe(l, seconds),
      committed: (seconds, events, stored, duplicates) => {
        this.commitSeconds.observe(l, seconds);
        if (events) this.eventsStored.inc(l, events);
        if (stored) this.batchesStored.inc({ ...l, outcome: 'stored' }, stored);
        if (duplicates) this.batchesStored.inc({ ...l, outcome: 'duplicate' }, duplicates);
      },
      commitFailed: (seconds) => {
        this.commitSeconds.observe(l, seconds);
        this.commitFailures.inc(l);
      },
      refused: () => this.batchesRefused.inc(l),
      slowedDown: () => this.flowSlowDowns.inc(l),
      resumed: () => this.flowResumes.inc(l),
    };
  }

  /**
   * bindSources sets what the scrape-time gauges read: sessions by listener, queued bytes of each
   * listener's writer, commands by state, whether the storage writer runs. Before it, they are empty.
   */
  bindSources(s: MetricSources): void {
    this.sources = s;
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read?: (g: Gauge<L>, s: MetricSources) => void | Promise<void>,
  ): Gauge<L> {
    const metrics = this;
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      ...(read
        ? {
            collect(this: Gauge<L>) {
              return metrics.sources ? read(this, metrics.sources) : undefined;
            },
          }
        : {}),
    });
  }

  private histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}

/** ListenerMetrics is what a telemetry listener reports as it works (ServerMetrics.forListener). */
export interface ListenerMetrics {
  /** A batch frame arrived with `events` events in `bytes` compressed bytes. */
  received(events: number, bytes: number): void;
  /** A batch was acked `seconds` after it arrived. */
  acked(seconds: number): void;
  /** A group commit took `seconds` and stored `events` events in `stored` batches (`duplicates` were already stored). */
  committed(seconds: number, events: number, stored: number, duplicates: number): void;
  commitFailed(seconds: number): void;
  refused(): void;
  slowedDown(): void;
  resumed(): void;
}

/** MetricSources are what the scrape-time gauges read (see bindSources). */
export interface MetricSources {
  sessions(): Iterable<{ channel: Listener }>;
  listeners(): Listener[];
  queuedBytes(listener: Listener): number;
  commandCounts(): Promise<Record<string, number>>;
  storageWriterRunning(): boolean;
}

/** NO_METRICS is a ListenerMetrics that records nothing (for writers and controllers built without a registry). */
export const NO_METRICS: ListenerMetrics = {
  received() {},
  acked() {},
  committed() {},
  commitFailed() {},
  refused() {},
  slowedDown() {},
  resumed() {},
};
