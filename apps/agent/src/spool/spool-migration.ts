import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SyncDir } from './dir-sync.js';
import {
  ENCRYPTED_RECORD_MAGIC,
  PLAIN_RECORDS,
  RECORD_MAGIC,
  encryptedRecords,
  scanRecords,
} from './record.js';
import { segmentName } from './segment.js';
import type { SpoolCipher } from './spool-cipher.js';

/** Migrated is what encrypting one plain segment found in it. */
export interface Migrated {
  records: number;
  /** Damage in the plain segment (its intact records were kept, as a scan keeps them). */
  corruptRegions: number;
  tornTail: boolean;
}

/**
 * isPlainSegment tells whether a segment file was written before spool encryption: it starts
 * with a plain record's magic, or (its start damaged) a plain scan finds more intact records
 * than an encrypted one.
 */
export function isPlainSegment(buf: Buffer, cipher: SpoolCipher, id: number): boolean {
  if (buf.byteLength < 4) return false;
  const magic = buf.readUInt32LE(0);
  if (magic === ENCRYPTED_RECORD_MAGIC) return false;
  if (magic === RECORD_MAGIC) return true;
  return (
    scanRecords(buf, PLAIN_RECORDS).records.length >
    scanRecords(buf, encryptedRecords(cipher, id)).records.length
  );
}

/**
 * encryptPlainSegment rewrites a segment from before spool encryption (ADR 0032) in place: every
 * intact plain record is read and written again encrypted into `<name>.enc.tmp`, synced, and
 * renamed over the old file (then the directory is synced). A crash before the rename leaves the
 * plain segment, migrated again at the next start; after it, the encrypted one. Returns
 * undefined when the segment is already encrypted.
 */
export function encryptPlainSegment(
  dir: string,
  id: number,
  cipher: SpoolCipher,
  syncDir: SyncDir,
): Migrated | undefined {
  const path = join(dir, segmentName(id));
  const buf = readFileSync(path);
  if (!isPlainSegment(buf, cipher, id)) return undefined;
  const scan = scanRecords(buf, PLAIN_RECORDS);
  const format = encryptedRecords(cipher, id);
  const tmp = `${path}.enc.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    for (const r of scan.records) {
      const rec = format.encode(r.body);
      let written = 0;
      while (written < rec.byteLength) written += writeSync(fd, rec, written, rec.byteLength - written);
    }
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dir);
  return { records: scan.records.length, corruptRegions: scan.corruptRegions, tornTail: scan.tornTail };
}
