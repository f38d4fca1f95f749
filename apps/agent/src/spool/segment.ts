import { closeSync, fdatasyncSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type BatchMeta, decodeBatchRecord } from './batch-record.js';
import { fsyncDir, type SyncDir } from './dir-sync.js';
import { PLAIN_RECORDS, type RecordFormat, encryptedRecords, scanRecords } from './record.js';
import type { SpoolCipher } from './spool-cipher.js';

/** SpoolEntry locates one sealed, unacked batch in a segment. */
export interface SpoolEntry {
  meta: BatchMeta;
  segment: Segment;
  /** Where the batch's record starts in the file, and its length (header included). */
  recordOffset: number;
  recordLength: number;
  /** Where the EventBatchFrame bytes start in the record's (decrypted) body. */
  frameOffsetInBody: number;
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
  /** How this segment's records are framed: encrypted under the spool key, or plain without one. */
  readonly format: RecordFormat;

  private constructor(
    readonly dir: string,
    readonly id: number,
    cipher: SpoolCipher | undefined,
  ) {
    this.path = join(dir, segmentName(id));
    this.format = cipher ? encryptedRecords(cipher, id) : PLAIN_RECORDS;
  }

  /**
   * create makes a new, empty segment to append to, and syncs the directory so the file itself
   * survives a power loss (the records' fdatasync only makes their data durable).
   */
  static create(dir: string, id: number, syncDir: SyncDir = fsyncDir, cipher?: SpoolCipher): Segment {
    const s = new Segment(dir, id, cipher);
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
  static load(dir: string, id: number, cipher?: SpoolCipher): Segment {
    const s = new Segment(dir, id, cipher);
    const buf = readFileSync(s.path);
    s.size = buf.byteLength;
    const scan = scanRecords(buf, s.format);
    s.corruptRegions = scan.corruptRegions;
    s.tornTail = scan.tornTail;
    for (const rec of scan.records) {
      try {
        const { meta, frameOffset } = decodeBatchRecord(rec.body);
        s.entries.push({
          meta,
          segment: s,
          recordOffset: rec.offset,
          recordLength: rec.length,
          frameOffsetInBody: frameOffset,
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
    const rec = this.format.encode(body);
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
      recordOffset: this.size,
      recordLength: rec.byteLength,
      frameOffsetInBody,
    };
    this.size += rec.byteLength;
    this.entries.push(entry);
    return entry;
  }

  /**
   * readFrame reads the EventBatchFrame bytes of one entry of this segment: its whole record,
   * checked again (crc32, or authenticated and decrypted), so damage since the segment was
   * scanned is an error here rather than bytes sent to the server.
   */
  readFrame(entry: SpoolEntry): Buffer {
    if (this.fd === undefined) this.fd = openSync(this.path, 'r');
    const rec = Buffer.allocUnsafe(entry.recordLength);
    let got = 0;
    while (got < rec.byteLength) {
      const n = readSync(this.fd, rec, got, rec.byteLength - got, entry.recordOffset + got);
      if (n === 0) throw new Error(`segment ${this.path} ends before batch ${entry.meta.seq}`);
      got += n;
    }
    const r = this.format.parseAt(rec, 0);
    if (typeof r !== 'object')
      throw new Error(`segment ${this.path}: the record of batch ${entry.meta.seq} is damaged`);
    return r.body.subarray(entry.frameOffsetInBody);
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
