import { type BpfRecord, decodeRecord, HEADER_SIZE, MAX_RECORD_SIZE, REC_MAGIC } from './records.js';

const MAGIC_BYTES = Buffer.from([REC_MAGIC & 0xff, REC_MAGIC >> 8]);

/** RecordStreamStats counts what the stream could not use. */
export interface RecordStreamStats {
  records: number;
  /** Records with a valid frame that failed to decode. */
  badRecords: number;
  /** Bytes skipped while looking for the next record start. */
  skippedBytes: number;
  /** Times the stream lost its place and resynchronised. */
  resyncs: number;
}

/**
 * RecordStream cuts the helper's stdout into records. Input is untrusted in the sense that a
 * broken or replaced helper may write anything: a frame that does not start with REC_MAGIC or
 * has an impossible size is skipped byte by byte until the next plausible record start
 * (resync), and a frame that fails to decode is counted and dropped. Nothing here throws.
 */
export class RecordStream {
  private buf: Buffer = Buffer.alloc(0);
  readonly stats: RecordStreamStats = { records: 0, badRecords: 0, skippedBytes: 0, resyncs: 0 };

  constructor(
    private readonly onRecord: (r: BpfRecord) => void,
    private readonly onError: (msg: string) => void = () => {},
  ) {}

  /** push feeds a chunk of stdout. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let off = 0;
    let lost = false;
    while (this.buf.length - off >= 8) {
      const magic = this.buf.readUInt16LE(off);
      const size = this.buf.readUInt32LE(off + 4);
      if (magic !== REC_MAGIC || size < HEADER_SIZE || size > MAX_RECORD_SIZE) {
        if (!lost) {
          lost = true;
          this.stats.resyncs++;
          this.onError(`bad frame at stream offset (magic 0x${magic.toString(16)}, size ${size}); resyncing`);
        }
        const next = this.buf.indexOf(MAGIC_BYTES, off + 1);
        // Without a match keep the last byte: it may be the first half of the next magic.
        const to = next < 0 ? this.buf.length - 1 : next;
        this.stats.skippedBytes += to - off;
        off = to;
        continue;
      }
      lost = false;
      if (this.buf.length - off < size) break;
      const frame = this.buf.subarray(off, off + size);
      off += size;
      let rec: BpfRecord;
      try {
        rec = decodeRecord(frame);
      } catch (err) {
        this.stats.badRecords++;
        this.onError(`undecodable record: ${(err as Error).message}`);
        continue;
      }
      this.stats.records++;
      try {
        this.onRecord(rec);
      } catch (err) {
        this.stats.badRecords++;
        this.onError(`record handler failed: ${(err as Error).message}`);
      }
    }
    // Keep only the unconsumed tail; copy it so the big chunk can be freed.
    this.buf = off >= this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(off));
  }

  /** reset drops any partial record (the helper restarted). */
  reset(): void {
    this.buf = Buffer.alloc(0);
  }

  /** pending is how many bytes wait for the rest of their record. */
  get pending(): number {
    return this.buf.length;
  }
}
