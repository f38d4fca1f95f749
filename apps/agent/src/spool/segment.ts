import { closeSync, fdatasyncSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type BatchMeta, decodeBatchRecord } from './batch-record.js';
import { fsyncDir, type SyncDir } from './dir-sync.js';
import { RECORD_HEADER_BYTES, encodeRecord, scanRecords } from './record.js';

/** SpoolEntry locates one sealed, unacked batch in a segment. */
export interface SpoolEntry {
  meta: BatchMeta;
  segment: Segment;
  /** Where the EventBatchFrame bytes start in the file, and how long they are. */
  frameOffset: number;
  frameLength: number;
}

const PREFIX = 'seg-';
const SUFFIX = '.psp';

/** segmentName names a segment after a counter so that names sort in write order. */
export function segmentName(id: number): string {
  return `${PREFIX}${String(id).padStart(12, '0')}${SUFFIX}`;
}

/** parseSegmentName returns the counter of a segment file name, or undefined for other files. */
export function parseSegmentName(name: string): number | undefined {
  if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX)) return undefined;
  const n = Number(name.slice(PREFIX.length, -SUFFIX.length));
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Segment is one append-only spool file. Only the newest segment is written; older ones are read
 * when their batches are sent and deleted whole once every batch in them is acked or dropped.
 */
export class Segment {
  readonly path: string;
  size = 0;
  /** Batches in this segment, in sequence order (including acked ones until the file goes). */
  readonly entries: SpoolEntry[] = [];
  corruptRegions = 0;
  tornTail = false;
  private fd: number | undefined;
  private canWrite = false;

  private constructor(
    readonly dir: string,
    readonly id: number,
  ) {
    this.path = join(dir, segmentName(id));
  }

  /**
   * create makes a new, empty segment to append to, and syncs the directory so the file itself
   * survives a power loss (the records' fdatasync only makes their data durable).
   */
  static create(dir: string, id: number, syncDir: SyncDir = fsyncDir): Segment {
    const s = new Segment(dir, id);
    s.fd = openSync(s.path, 'wx+', 0o600);
    s.canWrite = true;
    try {
      syncDir(dir);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  /**
   * load scans an existing segment. Records that fail their crc32 or cannot be read as batches are
   * counted in corruptRegions and skipped; a torn last record is noted in tornTail.
   */
  static load(dir: string, id: number): Segment {
    const s = new Segment(dir, id);
    const buf = readFileSync(s.path);
    s.size = buf.byteLength;
    const scan = scanRecords(buf);
    s.corruptRegions = scan.corruptRegions;
    s.tornTail = scan.tornTail;
    for (const rec of scan.records) {
      try {
        const { meta, frameOffset } = decodeBatchRecord(rec.body);
        const start = rec.offset + RECORD_HEADER_BYTES + frameOffset;
        s.entries.push({
          meta,
          segment: s,
          frameOffset: start,
          frameLength: rec.body.byteLength - frameOffset,
        });
      } catch {
        s.corruptRegions++;
      }
    }
    return s;
  }

  /** append writes one batch record and, when `sync`, waits for the data to reach the disk. */
  append(meta: BatchMeta, body: Buffer, frameOffsetInBody: number, sync: boolean): SpoolEntry {
    if (!this.canWrite || this.fd === undefined) throw new Error(`segment ${this.path} is sealed`);
    const rec = encodeRecord(body);
    try {
      let written = 0;
      while (written < rec.byteLength) written += writeSync(this.fd, rec, written, rec.byteLength - written);
      if (sync) fdatasyncSync(this.fd);
    } catch (err) {
      // Part of the record may be on disk: appending after it would misplace later records.
      this.canWrite = false;
      throw err;
    }
    const entry: SpoolEntry = {
      meta,
      segment: this,
      frameOffset: this.size + RECORD_HEADER_BYTES + frameOffsetInBody,
      frameLength: body.byteLength - frameOffsetInBody,
    };
    this.size += rec.byteLength;
    this.entries.push(entry);
    return entry;
  }

  /** readFrame reads the EventBatchFrame bytes of one entry of this segment. */
  readFrame(entry: SpoolEntry): Buffer {
    if (this.fd === undefined) this.fd = openSync(this.path, 'r');
    const out = Buffer.allocUnsafe(entry.frameLength);
    let got = 0;
    while (got < out.byteLength) {
      const n = readSync(this.fd, out, got, out.byteLength - got, entry.frameOffset + got);
      if (n === 0) throw new Error(`segment ${this.path} ends before batch ${entry.meta.seq}`);
      got += n;
    }
    return out;
  }

  /** writable is true while records may be appended (false once sealed or after a failed write). */
  get writable(): boolean {
    return this.canWrite;
  }

  /** maxSeq is the highest sequence number in this segment, 0 when it holds none. */
  get maxSeq(): number {
    return this.entries.at(-1)?.meta.seq ?? 0;
  }

  /** newestSealedAtMs is when the last batch of the segment was sealed, 0 when empty. */
  get newestSealedAtMs(): number {
    let t = 0;
    for (const e of this.entries) if (e.meta.sealedAtMs > t) t = e.meta.sealedAtMs;
    return t;
  }

  /** seal stops appends; the file stays readable. */
  seal(): void {
    this.canWrite = false;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.canWrite = false;
  }

  /** remove closes and deletes the file. */
  remove(): void {
    this.close();
    try {
      unlinkSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
