import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Backoff, type Logger, silentLogger } from '@palisade/common';
import { type Capability, CapabilitySchema, create, TelemetryKind, Tier } from '@palisade/protocol';
import type { EventSink, Sensor, SensorCounters } from '../sensor.js';
import { EventMapper } from './event-mapper.js';
import { ExeHasher } from './exe-hasher.linux.js';
import { HelperSupervisor, type HelperStatus } from './helper-supervisor.linux.js';
import { DEFAULT_IGNORE_PATH_PREFIXES, PathFilter } from './paths.js';
import { listPids, type ProcSnapshot, readBootId, readProc } from './proc-reader.linux.js';
import { ProcessCache } from './process-cache.js';
import { RecordStream } from './record-stream.js';
import { type BpfRecord, KIND_NAMES, Kind, REC_VERSION } from './records.js';
import { UserNames } from './users.js';

/** BpfSensorOptions configure the eBPF sensor. */
export interface BpfSensorOptions {
  /** The helper binary. @default apps/agent/sensor-bpf/build/palisade-sensor */
  helperPath?: string;
  /** The agent's own pids: their activity, and their children's, is dropped in the kernel. */
  ignorePids: number[];
  /** Extra path prefixes whose file events are dropped (add the agent's state dir); added to
   * DEFAULT_IGNORE_PATH_PREFIXES (/proc, /sys, /dev). */
  ignorePathPrefixes?: string[];
  tier: Tier;
  logger?: Logger;
  /** Process cache cap. @default 4096 */
  processCacheSize?: number;
  /** Kernel ring buffer size, MiB, a power of two. @default 4 */
  ringbufMb?: number;
  /** Restart backoff; injectable so tests need not wait. */
  backoff?: Backoff;
  /** A UDP flow reports its traffic at most once per this many seconds. @default 60 */
  udpFlowIntervalSeconds?: number;
  /** File and network records per process and second; more are suppressed in the kernel and counted. @default 2000 */
  noisyPerSecond?: number;
  /** Bytes of executables hashed per second at most. @default 32 MiB */
  hashBytesPerSecond?: number;
  /** How long start() waits for the helper to come up. @default 10000 */
  startTimeoutMs?: number;
}

/** BpfSensorStats are the sensor's detailed numbers (beyond SensorCounters). */
export interface BpfSensorStats {
  helper: HelperStatus;
  /** Kernel ring-buffer drops per record kind, since the sensor started. */
  ringDrops: Record<string, number>;
  /** Records the kernel delivered per kind (as of the helper's last stats record, ~1 s). */
  kernelRecords: Record<string, number>;
  /** Noisy records held back by the kernel's per-process rate limit, per kind. */
  suppressed: Record<string, number>;
  /** "ok" or "degraded: ..." (sustained drops). */
  health: string;
  /** Stats records received: a new one means kernelRecords and ringDrops are fresh. */
  statsRecords: number;
  records: number;
  badRecords: number;
  skippedBytes: number;
  resyncs: number;
  processCacheSize: number;
  /** Processes looked up in /proc because no exec of theirs was seen. */
  procReads: number;
  /** Records that failed in mapping or in the sink (a bug, logged; the sensor carries on). */
  handlerErrors: number;
  /** Executable hashing: bytes and files hashed, skipped, cache hits, deferred for the budget. */
  hashing: ExeHasher['counts'];
}

/** BpfSensor is the eBPF sensor with its test and diagnostics hooks. */
export interface BpfSensor extends Sensor {
  /** sync resolves true once the helper has applied every control command sent before it. */
  sync(timeoutMs?: number): Promise<boolean>;
  stats(): BpfSensorStats;
}

const KINDS = [TelemetryKind.PROCESS, TelemetryKind.NETFLOW, TelemetryKind.FILEMOD, TelemetryKind.DNS];
/** Kinds with a reserved ring buffer (records.h IS_PRIO_KIND). */
const PRIORITY_KINDS = [Kind.Exec, Kind.Setid, Kind.Inject];
/** Drops are "sustained" when they grew in HEALTH_MIN_SECONDS of the last HEALTH_WINDOW seconds. */
const HEALTH_WINDOW = 10;
const HEALTH_MIN_SECONDS = 3;
/** A stream this broken in one helper run means the helper is broken: restart it. */
const MAX_GARBAGE_PER_RUN = 3;

function defaultHelperPath(): string {
  return fileURLToPath(new URL('../../../sensor-bpf/build/palisade-sensor', import.meta.url));
}

function bootWallFromUptime(): number {
  try {
    const up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Date.now() - up * 1000;
  } catch {
    return 0;
  }
}

/** tierNumber maps a policy tier to the helper's; an unspecified tier collects like Workstation. */
function tierNumber(t: Tier): number {
  return t === Tier.SERVER ? 1 : 2;
}

class BpfSensorImpl implements BpfSensor {
  readonly name = 'ebpf';
  private sink: EventSink = () => {};
  private tier: Tier;
  private bootWallMs = bootWallFromUptime();
  private readonly log: Logger;
  private readonly sup: HelperSupervisor;
  private readonly stream: RecordStream;
  private readonly mapper: EventMapper;
  private readonly cache: ProcessCache;
  private readonly hasher: ExeHasher;
  private emitted = 0;
  private handlerErrors = 0;
  private dropsBase = new Array<number>(16).fill(0);
  private dropsRun = new Array<number>(16).fill(0);
  private kernelBase = new Array<number>(16).fill(0);
  private kernelRun = new Array<number>(16).fill(0);
  private statsSeen = 0;
  private suppressedBase = new Array<number>(16).fill(0);
  private suppressedRun = new Array<number>(16).fill(0);
  /** Total drops at each of the last HEALTH_WINDOW stats records (one a second). */
  private readonly dropHistory: number[] = [];
  private garbageAtRunStart = 0;
  private syncSeq = 0;
  private readonly acks = new Map<number, () => void>();
  private readyWaiters: Array<() => void> = [];

  constructor(private readonly opts: BpfSensorOptions) {
    this.log = (opts.logger ?? silentLogger).child({ sensor: 'ebpf' });
    this.tier = opts.tier;
    this.cache = new ProcessCache({
      maxEntries: opts.processCacheSize ?? 4096,
      bootId: readBootId(),
      bootWallMs: () => this.bootWallMs,
      readProc: (pid) => readProc(pid),
    });
    this.hasher = new ExeHasher(opts.hashBytesPerSecond ? { bytesPerSecond: opts.hashBytesPerSecond } : {});
    this.mapper = new EventMapper({
      hasher: this.hasher,
      cache: this.cache,
      users: new UserNames(),
      paths: new PathFilter([...DEFAULT_IGNORE_PATH_PREFIXES, ...(opts.ignorePathPrefixes ?? [])]),
      bootWallMs: () => this.bootWallMs,
    });
    this.stream = new RecordStream(
      (r) => this.onRecord(r),
      (msg) => this.onGarbage(msg),
    );
    this.sup = new HelperSupervisor({
      path: opts.helperPath ?? defaultHelperPath(),
      args: () => this.helperArgs(),
      onStdout: (b) => this.stream.push(b),
      onSpawn: () => this.onSpawn(),
      logger: this.log,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
    });
  }

  async start(sink: EventSink): Promise<void> {
    this.sink = sink;
    const up = new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    const snaps: ProcSnapshot[] = [];
    for (const pid of listPids()) {
      const snap = readProc(pid);
      if (snap) snaps.push(snap);
    }
    this.cache.seed(snaps);
    this.sup.start();
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 10_000);
    // Wait for the hello record or a permanent failure, polling the latter; never throw.
    while (Date.now() < deadline) {
      const s = this.sup.status.state;
      if (s === 'running' || s === 'failed' || s === 'stopped') break;
      await Promise.race([up, new Promise((r) => setTimeout(r, 50))]);
    }
  }

  async stop(): Promise<void> {
    await this.sup.stop();
    this.hasher.close();
    for (const done of this.acks.values()) done();
    this.acks.clear();
  }

  setTier(tier: Tier): void {
    this.tier = tier;
    this.sup.send(`tier ${tierNumber(tier)}`);
  }

  sync(timeoutMs = 5000): Promise<boolean> {
    const seq = ++this.syncSeq;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.acks.delete(seq);
        resolve(false);
      }, timeoutMs);
      this.acks.set(seq, () => {
        clearTimeout(t);
        resolve(true);
      });
      if (!this.sup.send(`sync ${seq}`)) {
        clearTimeout(t);
        this.acks.delete(seq);
        resolve(false);
      }
    });
  }

  capabilities(): Capability[] {
    const st = this.sup.status;
    let active = false;
    let reason: string;
    switch (st.state) {
      case 'running':
        active = true;
        reason = this.sup.restarts ? `running; restarted ${this.sup.restarts} times after crashes` : '';
        break;
      case 'failed':
        reason = st.reason;
        break;
      case 'restarting':
        reason = `helper crashed (${st.lastExit}); restarting, ${this.sup.restarts} restarts so far`;
        break;
      case 'starting':
        reason = 'helper starting';
        break;
      default:
        reason = 'sensor not started';
    }
    return KINDS.map((kind) => create(CapabilitySchema, { kind, active, source: 'ebpf', reason }));
  }

  counters(): SensorCounters {
    const drops = this.totalDrops();
    const prio = PRIORITY_KINDS.reduce((a, k) => a + (this.dropsBase[k] ?? 0) + (this.dropsRun[k] ?? 0), 0);
    const suppressed =
      this.suppressedBase.reduce((a, b) => a + b, 0) + this.suppressedRun.reduce((a, b) => a + b, 0);
    return {
      eventsEmitted: this.emitted,
      drops,
      restarts: this.sup.restarts,
      priorityDrops: prio,
      suppressed,
      health: this.health(),
    };
  }

  private totalDrops(): number {
    return this.dropsBase.reduce((a, b) => a + b, 0) + this.dropsRun.reduce((a, b) => a + b, 0);
  }

  /**
   * health is "degraded" while drops are sustained: they grew in at least HEALTH_MIN_SECONDS of
   * the last HEALTH_WINDOW seconds (one burst is a counted drop, not a state).
   */
  health(): string {
    const h = this.dropHistory;
    let rising = 0;
    for (let i = 1; i < h.length; i++) if ((h[i] ?? 0) > (h[i - 1] ?? 0)) rising++;
    if (rising < HEALTH_MIN_SECONDS) return 'ok';
    const lost = (h[h.length - 1] ?? 0) - (h[0] ?? 0);
    return `degraded: ${lost} kernel records lost to full ring buffers in the last ${h.length - 1} s`;
  }

  stats(): BpfSensorStats {
    const ringDrops: Record<string, number> = {};
    const kernelRecords: Record<string, number> = {};
    for (const [k, name] of Object.entries(KIND_NAMES)) {
      const i = Number(k);
      ringDrops[name] = (this.dropsBase[i] ?? 0) + (this.dropsRun[i] ?? 0);
      kernelRecords[name] = (this.kernelBase[i] ?? 0) + (this.kernelRun[i] ?? 0);
    }
    return {
      helper: this.sup.status,
      ringDrops,
      kernelRecords,
      statsRecords: this.statsSeen,
      suppressed: Object.fromEntries(
        Object.entries(KIND_NAMES).map(([k, name]) => [
          name,
          (this.suppressedBase[Number(k)] ?? 0) + (this.suppressedRun[Number(k)] ?? 0),
        ]),
      ),
      health: this.health(),
      ...this.stream.stats,
      processCacheSize: this.cache.size,
      procReads: this.cache.procReads,
      handlerErrors: this.handlerErrors,
      hashing: { ...this.hasher.counts },
    };
  }

  private helperArgs(): string[] {
    const args = [
      '--tier',
      String(tierNumber(this.tier)),
      '--ringbuf-mb',
      String(this.opts.ringbufMb ?? 2),
      '--udp-interval-s',
      String(this.opts.udpFlowIntervalSeconds ?? 60),
      '--noisy-per-sec',
      String(this.opts.noisyPerSecond ?? 2000),
    ];
    for (const pid of this.opts.ignorePids) args.push('--ignore', String(pid));
    return args;
  }

  private onSpawn(): void {
    this.stream.reset();
    for (let i = 0; i < 16; i++) this.dropsBase[i] = (this.dropsBase[i] ?? 0) + (this.dropsRun[i] ?? 0);
    this.dropsRun.fill(0);
    for (let i = 0; i < 16; i++) this.kernelBase[i] = (this.kernelBase[i] ?? 0) + (this.kernelRun[i] ?? 0);
    this.kernelRun.fill(0);
    for (let i = 0; i < 16; i++)
      this.suppressedBase[i] = (this.suppressedBase[i] ?? 0) + (this.suppressedRun[i] ?? 0);
    this.suppressedRun.fill(0);
    this.garbageAtRunStart = this.stream.stats.resyncs + this.stream.stats.badRecords;
  }

  private onGarbage(msg: string): void {
    const s = this.stream.stats;
    const inRun = s.resyncs + s.badRecords - this.garbageAtRunStart;
    if (inRun <= MAX_GARBAGE_PER_RUN) this.log.warn({ detail: msg }, 'corrupt record from the eBPF helper');
    if (inRun === MAX_GARBAGE_PER_RUN) this.sup.kill('corrupt record stream');
  }

  private onRecord(r: BpfRecord): void {
    switch (r.kind) {
      case Kind.Hello:
        if (r.version !== REC_VERSION) {
          this.sup.fail(
            `the helper speaks record version ${r.version}, the agent ${REC_VERSION}: rebuild it`,
          );
          for (const w of this.readyWaiters.splice(0)) w();
          return;
        }
        this.bootWallMs = r.realtimeMinusBoottimeNs / 1e6;
        this.sup.ready();
        for (const w of this.readyWaiters.splice(0)) w();
        return;
      case Kind.Stats:
        this.bootWallMs = r.realtimeMinusBoottimeNs / 1e6;
        this.dropsRun = r.drops.slice(0, 16);
        this.kernelRun = r.emitted.slice(0, 16);
        this.suppressedRun = r.suppressed.slice(0, 16);
        this.statsSeen++;
        this.dropHistory.push(this.totalDrops());
        if (this.dropHistory.length > HEALTH_WINDOW + 1) this.dropHistory.shift();
        return;
      case Kind.Ack: {
        const done = this.acks.get(r.seq);
        this.acks.delete(r.seq);
        done?.();
        return;
      }
    }
    // The kernel applies a tier change asynchronously; drop what it let through meanwhile.
    if (this.tier === Tier.SERVER && (r.kind === Kind.Exit || r.kind === Kind.Close)) return;
    // A failure past this point is ours or the sink's, not the helper's: count and log it, but
    // do not let it count as a corrupt stream (which would restart a healthy helper).
    try {
      const ev = this.mapper.map(r);
      if (!ev) return;
      this.emitted++;
      this.sink(ev);
    } catch (err) {
      if (this.handlerErrors++ < 20) {
        this.log.error({ err: (err as Error).message, kind: r.kind }, 'failed to deliver an eBPF event');
      }
    }
  }
}

/** createBpfSensor builds the eBPF sensor. It never throws: problems show in capabilities(). */
export function createBpfSensor(opts: BpfSensorOptions): BpfSensor {
  return new BpfSensorImpl(opts);
}
