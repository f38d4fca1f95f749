import { mkdirSync } from 'node:fs';
import { type Clock, type Logger, silentLogger, systemClock } from '@palisade/common';
import { type Event, EventBatchFrameSchema, encodeBatchBody, toBinary } from '@palisade/protocol';
import { BatchBuilder } from './batch-builder.js';
import { type BatchMeta, encodeBatchRecord } from './batch-record.js';
import { type DropReport, addDroppedBatch } from './drop-report.js';
import { fsyncDir, type SyncDir } from './dir-sync.js';
import { Segment, type SpoolEntry } from './segment.js';
import { recoverSpool } from './spool-recovery.js';
import type { SpoolCipher } from './spool-cipher.js';
import { DAMAGED_STATE_FILE, type SpoolState, loadSpoolState, saveSpoolState } from './spool-state.js';

/** SpoolOptions configure the agent's on-disk spool. */
export interface SpoolOptions {
  /** Directory of the segments and the state file (created 0700). */
  dir: string;
  /** Largest total size of the segments; the oldest segment is dropped beyond it. @default 1 GiB */
  maxBytes?: number;
  /** Oldest age of a sealed batch before its segment is dropped. @default 7 days */
  maxAgeMs?: number;
  /** A new segment is started when the current one reaches this size. @default 16 MiB */
  segmentBytes?: number;
  /** A batch is sealed when it holds this many events... @default 2000 */
  batchMaxEvents?: number;
  /** ...or this many encoded bytes... @default 1 MiB */
  batchMaxBytes?: number;
  /** ...or when its first event has waited this long. @default 200 */
  batchIntervalMs?: number;
  /** fdatasync each sealed batch before it may be sent. @default true */
  fsync?: boolean;
  /** How the directory is synced after a segment is created or the state file renamed. @default fsyncDir */
  syncDir?: SyncDir;
  /**
   * Encrypts segments and the state file at rest (ADR 0032); a plain spool from before is
   * rewritten encrypted at open. The agent always passes one (its key is in the state directory).
   * @default none: plain records, for tools and tests of the plain format
   */
  cipher?: SpoolCipher;
  clock?: Clock;
  logger?: Logger;
}

/** SpoolStats describe what the spool holds and what it lost. */
export interface SpoolStats {
  /** Events not yet sealed into a batch (in memory, at most batchIntervalMs old). */
  pendingEvents: number;
  unackedEvents: number;
  unackedBatches: number;
  bytes: number;
  /** Event time of the oldest event not yet acked (ms since the epoch), 0 when there is none. */
  oldestUnsentMs: number;
  lastSeq: number;
  ackedSeq: number;
  drops: DropReport;
  /** Damaged records found in segments (skipped; the rest was delivered). */
  corruptRecords: number;
  /** Segments that ended in a torn record (an append cut short by a crash), found at open. */
  tornTails: number;
}

const STATE_SAVE_DELAY_MS = 1000;
const CAP_CHECK_INTERVAL_MS = 60_000;

/**
 * Spool is the agent's durable queue between sensors and transport. Events are grouped into
 * batches that are numbered, LZ4-compressed and written to append-only segment files with a crc32
 * per record, then synced; only then may the transport send them. A batch leaves the spool when
 * the server acks it, so a resend after a restart reuses the same sequence number and the server
 * dedupes it. Size and age caps drop whole segments, oldest first, and count what was lost.
 */
export class Spool {
  private readonly segments: Segment[] = [];
  /** Unacked batches in sequence order. */
  private readonly unacked: SpoolEntry[] = [];
  private active!: Segment;
  private nextSegmentId = 1;
  private readonly builder = new BatchBuilder();
  private sealTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly capTimer: NodeJS.Timeout;
  private readonly listeners = new Set<(seq: number) => void>();
  private tornTails = 0;
  private closed = false;
  private readonly o: Required<Omit<SpoolOptions, 'clock' | 'logger' | 'cipher'>>;
  private readonly cipher: SpoolCipher | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;

  private constructor(
    opts: SpoolOptions,
    private readonly state: SpoolState,
  ) {
    this.o = {
      dir: opts.dir,
      maxBytes: opts.maxBytes ?? 1024 ** 3,
      maxAgeMs: opts.maxAgeMs ?? 7 * 24 * 3600 * 1000,
      segmentBytes: opts.segmentBytes ?? 16 * 1024 ** 2,
      batchMaxEvents: opts.batchMaxEvents ?? 2000,
      batchMaxBytes: opts.batchMaxBytes ?? 1024 ** 2,
      batchIntervalMs: opts.batchIntervalMs ?? 200,
      fsync: opts.fsync ?? true,
      syncDir: opts.syncDir ?? fsyncDir,
    };
    this.cipher = opts.cipher;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.capTimer = setInterval(() => this.enforceCaps(), CAP_CHECK_INTERVAL_MS);
    this.capTimer.unref();
  }

  /**
   * open loads (or creates) the spool in opts.dir, recovering every intact batch not yet acked.
   * A damaged state file (or a missing one beside segments) does not stop it: the state is
   * rebuilt from the segments (rebuildState).
   */
  static open(opts: SpoolOptions): Spool {
    mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    const loaded = loadSpoolState(opts.dir, opts.syncDir ?? fsyncDir, opts.cipher);
    const spool = new Spool(opts, loaded.state);
    spool.recover(loaded.lost, loaded.plaintext === true);
    return spool;
  }

  private recover(lost: { missing: boolean; why: string } | undefined, plainState: boolean): void {
    const r = recoverSpool(this.o.dir, this.state, this.log, this.cipher, this.o.syncDir);
    this.segments.push(...r.segments);
    this.unacked.push(...r.unacked);
    this.nextSegmentId = r.nextSegmentId;
    this.tornTails = r.tornTails;
    // A new spool writes its state at once, so a state file missing beside segments later means
    // it was lost, as a damaged one.
    const isNew = lost?.missing === true && r.segments.length === 0;
    if (lost && !isNew) this.rebuildState(lost, r.segments.length);
    if (r.stateChanged || lost || plainState)
      saveSpoolState(this.o.dir, this.state, this.o.syncDir, this.cipher);
    this.active = Segment.create(this.o.dir, this.nextSegmentId++, this.o.syncDir, this.cipher);
    this.segments.push(this.active);
    this.removeFinishedSegments();
    this.enforceCaps();
  }

  /**
   * rebuildState stands in for a state file that was damaged (or is missing beside segments).
   * The acks it recorded are unknown, so every batch the segments hold is sent again: the server
   * stores each (agent, sequence) once and acks duplicates, so nothing the segments hold is lost
   * and nothing is stored twice. The highest sequence ever sealed is unknown too (segments whose
   * batches were all acked are deleted), and reusing a number the server has would make it
   * discard new events as duplicates; so numbering continues above the current time in
   * milliseconds, which no earlier number can have reached (that would take more than a batch a
   * millisecond since 1970; the spool seals a few a second) and the server accepts the gap. The
   * drop report and corruption counts from before are lost; the log says so.
   */
  private rebuildState(lost: { missing: boolean; why: string }, segments: number): void {
    const floor = Math.max(this.state.lastSeq, Math.floor(this.clock.now()));
    this.state.lastSeq = floor;
    this.log.error(
      {
        problem: lost.why,
        keptAs: lost.missing ? undefined : DAMAGED_STATE_FILE,
        segments,
        resentBatches: this.unacked.length,
        resentEvents: this.unacked.reduce((n, e) => n + e.meta.eventCount, 0),
        nextSeq: floor + 1,
      },
      'spool state lost: rebuilt it from the segments; their batches are sent again (the server skips duplicates), new batches are numbered above every earlier one, the earlier drop and corruption counts are gone',
    );
  }

  /** append queues one event; it is sealed into a batch within batchIntervalMs. Never blocks on I/O beyond the local disk. */
  append(event: Event): void {
    if (this.closed) throw new Error('spool is closed');
    this.builder.add(event, this.clock.now());
    if (this.builder.count >= this.o.batchMaxEvents || this.builder.size >= this.o.batchMaxBytes) {
      this.seal();
    } else if (this.builder.count === 1) {
      this.sealTimer = setTimeout(() => {
        try {
          this.seal();
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'could not seal a batch');
        }
      }, this.o.batchIntervalMs);
    }
  }

  /** seal writes the events appended so far as one batch now (no-op when there are none). */
  seal(): void {
    if (this.sealTimer) clearTimeout(this.sealTimer);
    this.sealTimer = undefined;
    const b = this.builder;
    if (b.count === 0) return;
    const seq = this.state.lastSeq + 1;
    const meta: BatchMeta = {
      seq,
      eventCount: b.count,
      sealedAtMs: this.clock.now(),
      minTimeMs: b.minTimeMs,
      maxTimeMs: b.maxTimeMs,
      byClass: b.byClass,
    };
    const frame = toBinary(EventBatchFrameSchema, encodeBatchBody(BigInt(seq), b.count, b.take()));
    const body = encodeBatchRecord(meta, frame);
    let entry: SpoolEntry;
    try {
      const full = this.active.size > 0 && this.active.size + body.byteLength > this.o.segmentBytes;
      if (full || !this.active.writable) this.roll();
      entry = this.active.append(meta, body, body.byteLength - frame.byteLength, this.o.fsync);
    } catch (err) {
      // The disk refused the write (full, read-only, I/O error). Never throw at a sensor: count
      // the batch as dropped, leave the damaged segment behind and try a fresh one next time.
      addDroppedBatch(this.state.drops, meta);
      this.log.error(
        { err: (err as Error).message, events: meta.eventCount },
        'spool write failed: batch dropped and counted',
      );
      try {
        this.roll();
        this.saveState();
      } catch {
        // still failing: the next seal tries again
      }
      return;
    }
    this.state.lastSeq = seq;
    this.unacked.push(entry);
    this.enforceCaps();
    for (const l of this.listeners) l(seq);
  }

  private roll(): void {
    this.active.seal();
    const next = Segment.create(this.o.dir, this.nextSegmentId++, this.o.syncDir, this.cipher);
    this.active = next;
    this.segments.push(next);
  }

  /**
   * raiseSeqFloor makes the next batch number exceed `seq`: used when the server reports a stored
   * sequence above anything this spool sealed, so new batches are not mistaken for duplicates.
   */
  raiseSeqFloor(seq: number): void {
    if (seq <= this.state.lastSeq) return;
    this.log.warn(
      { serverSeq: seq, lastSeq: this.state.lastSeq },
      'server knows later batches; skipping ahead',
    );
    this.state.lastSeq = seq;
    this.saveState();
  }

  /** onSealed registers a callback run after each batch is durably written. */
  onSealed(cb: (seq: number) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** nextAfter returns the first unacked batch with a sequence above `seq`. */
  nextAfter(seq: number): SpoolEntry | undefined {
    return this.unacked[this.indexAfter(seq)];
  }

  private indexAfter(seq: number): number {
    const u = this.unacked;
    let lo = 0;
    let hi = u.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u[mid]!.meta.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * readFrame returns the encoded EventBatchFrame of an entry, exactly as it is sent. When the
   * file cannot be read any more (deleted or damaged underneath us) the batch is counted as a
   * corrupt record, leaves the queue, and undefined is returned.
   */
  readFrame(entry: SpoolEntry): Buffer | undefined {
    try {
      return entry.segment.readFrame(entry);
    } catch (err) {
      this.log.error(
        { seq: entry.meta.seq, err: (err as Error).message },
        'spooled batch unreadable; skipped',
      );
      const i = this.unacked.indexOf(entry);
      if (i >= 0) this.unacked.splice(i, 1);
      this.state.corruptRecords++;
      return undefined;
    }
  }

  /**
   * ack records that the server durably stored batch `seq`; the batch leaves the spool. Acks may
   * come out of order (the server acks each batch when it is stored). The persisted watermark is
   * the highest sequence below which everything was acked; after a restart batches above it that
   * were acked out of order are sent again and the server reports them as duplicates. An ack for
   * a sequence this spool never sealed is refused (returns false) so a confused server cannot
   * make the agent throw away events it never received.
   */
  ack(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > this.state.lastSeq) {
      this.log.warn({ seq, lastSeq: this.state.lastSeq }, 'ignored an ack for a batch never sealed');
      return false;
    }
    const i = this.indexAfter(seq - 1);
    if (this.unacked[i]?.meta.seq !== seq) return true; // acked before, or dropped by a cap
    this.unacked.splice(i, 1);
    this.state.ackedSeq = this.unacked[0] ? this.unacked[0].meta.seq - 1 : this.state.lastSeq;
    if (!this.removeFinishedSegments()) this.saveStateSoon();
    return true;
  }

  /** Deletes sealed segments with nothing left to send; returns whether it saved the state. */
  private removeFinishedSegments(): boolean {
    const done = this.segments.filter((s) => s !== this.active && s.entries.every((e) => !this.isUnacked(e)));
    if (done.length === 0) return false;
    for (const s of done) this.forgetSegment(s);
    // The state must name the acked sequence before the segments that prove it are gone; if it
    // cannot be saved the files stay (a restart resends them and the server reports duplicates).
    const saved = this.saveState();
    for (const s of done) {
      if (saved) s.remove();
      else s.close();
    }
    return true;
  }

  private isUnacked(e: SpoolEntry): boolean {
    return this.nextAfter(e.meta.seq - 1) === e;
  }

  private forgetSegment(s: Segment): void {
    const i = this.segments.indexOf(s);
    if (i >= 0) this.segments.splice(i, 1);
    const name = s.path.slice(s.path.lastIndexOf('/') + 1);
    const c = this.state.corruptBySegment[name];
    if (c !== undefined) {
      this.state.corruptRecords += c;
      delete this.state.corruptBySegment[name];
    }
  }

  /** enforceCaps drops the oldest segments while the spool is over its size or age cap. */
  enforceCaps(): void {
    const now = this.clock.now();
    for (;;) {
      const total = this.segments.reduce((n, s) => n + s.size, 0);
      const oldest = this.segments[0];
      if (!oldest) return;
      const tooBig = total > this.o.maxBytes;
      const tooOld = oldest.entries.length > 0 && now - oldest.newestSealedAtMs > this.o.maxAgeMs;
      if (!tooBig && !tooOld) return;
      if (oldest === this.active) {
        if (oldest.size === 0) return;
        this.roll();
      }
      this.dropSegment(oldest);
    }
  }

  private dropSegment(s: Segment): void {
    const lost = s.entries.filter((e) => this.isUnacked(e));
    for (const e of lost) addDroppedBatch(this.state.drops, e.meta);
    const gone = new Set(lost);
    for (let i = this.unacked.length - 1; i >= 0; i--)
      if (gone.has(this.unacked[i]!)) this.unacked.splice(i, 1);
    this.forgetSegment(s);
    this.saveState();
    s.remove();
    if (lost.length > 0) {
      this.log.warn(
        { segment: s.path, batches: lost.length, events: lost.reduce((n, e) => n + e.meta.eventCount, 0) },
        'spool cap reached: dropped the oldest unsent events',
      );
    }
  }

  private saveStateSoon(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      if (!this.closed) this.saveState();
    }, STATE_SAVE_DELAY_MS);
    this.saveTimer.unref();
  }

  /** saveState persists the state; a failure (disk full) is logged, never thrown at callers. */
  private saveState(): boolean {
    try {
      saveSpoolState(this.o.dir, this.state, this.o.syncDir, this.cipher);
      return true;
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'could not save the spool state');
      return false;
    }
  }

  /** stats reports depth, age, drops and corruption for heartbeats and check-ins. */
  stats(): SpoolStats {
    let unackedEvents = 0;
    for (const e of this.unacked) unackedEvents += e.meta.eventCount;
    let oldest = this.builder.count > 0 ? this.builder.minTimeMs : 0;
    for (const e of this.unacked) if (oldest === 0 || e.meta.minTimeMs < oldest) oldest = e.meta.minTimeMs;
    let corrupt = this.state.corruptRecords;
    for (const c of Object.values(this.state.corruptBySegment)) corrupt += c;
    return {
      pendingEvents: this.builder.count,
      unackedEvents,
      unackedBatches: this.unacked.length,
      bytes: this.segments.reduce((n, s) => n + s.size, 0),
      oldestUnsentMs: oldest,
      lastSeq: this.state.lastSeq,
      ackedSeq: this.state.ackedSeq,
      drops: structuredClone(this.state.drops),
      corruptRecords: corrupt,
      tornTails: this.tornTails,
    };
  }

  /** close seals what is pending, saves the state and closes every file. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.seal();
    this.closed = true;
    clearInterval(this.capTimer);
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveState();
    for (const s of this.segments) s.close();
    this.listeners.clear();
  }
}
