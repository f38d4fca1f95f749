import { crc32 } from 'node:zlib';
import { SEALED_OVERHEAD_BYTES, type SpoolCipher } from './spool-cipher.js';

/** RECORD_MAGIC starts every spool record ("PSL1"); it is what a scan resynchronises on. */
export const RECORD_MAGIC = 0x50534c31;
/** RECORD_HEADER_BYTES is magic, body length and crc32, each a little-endian u32. */
export const RECORD_HEADER_BYTES = 12;
/** MAX_RECORD_BODY_BYTES bounds one record so a damaged length field cannot make us read gigabytes. */
export const MAX_RECORD_BODY_BYTES = 64 * 1024 * 1024;

/** encodeRecord frames `body` as one spool record: header (magic, length, crc32 of body) + body. */
export function encodeRecord(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + body.byteLength);
  out.writeUInt32LE(RECORD_MAGIC, 0);
  out.writeUInt32LE(body.byteLength, 4);
  out.writeUInt32LE(crc32(body), 8);
  out.set(body, RECORD_HEADER_BYTES);
  return out;
}

/** ScannedRecord is one intact record found by scanRecords. */
export interface ScannedRecord {
  /** Offset of the record header in the file. */
  offset: number;
  /** Bytes of the whole record in the file (header included). */
  length: number;
  /** The record's body: as stored (plain records) or decrypted (encrypted records). */
  body: Buffer;
}

/**
 * RecordFormat is how records are framed in a segment: plain (magic, length, crc32; PSL1) or
 * encrypted (magic, length, then a SpoolCipher blob whose AAD is the header and the segment
 * number; PSE1, ADR 0032). scanRecords and Segment work with either.
 */
export interface RecordFormat {
  readonly magic: number;
  encode(body: Uint8Array): Buffer;
  /** parseAt reads the record at `pos`: intact, cut short by the end of `buf`, or bad. */
  parseAt(buf: Buffer, pos: number): ScannedRecord | 'short' | 'bad';
}

/** ENCRYPTED_RECORD_MAGIC starts every encrypted spool record ("PSE1"). */
export const ENCRYPTED_RECORD_MAGIC = 0x50534531;
/** ENCRYPTED_HEADER_BYTES is magic and sealed length, each a little-endian u32. */
export const ENCRYPTED_HEADER_BYTES = 8;

/** ScanResult is what a segment holds: intact records, damaged regions, and a torn tail if any. */
export interface ScanResult {
  records: ScannedRecord[];
  /** Damaged regions before the end of the file (bit rot, tampering): skipped, counted. */
  corruptRegions: number;
  /** True when the file ends in an incomplete record (a write cut short by a crash or power loss). */
  tornTail: boolean;
}

function parseAt(buf: Buffer, pos: number): ScannedRecord | 'short' | 'bad' {
  if (buf.byteLength - pos < RECORD_HEADER_BYTES) return 'short';
  if (buf.readUInt32LE(pos) !== RECORD_MAGIC) return 'bad';
  const len = buf.readUInt32LE(pos + 4);
  if (len > MAX_RECORD_BODY_BYTES) return 'bad';
  const end = pos + RECORD_HEADER_BYTES + len;
  if (end > buf.byteLength) return 'short';
  const body = buf.subarray(pos + RECORD_HEADER_BYTES, end);
  if (crc32(body) !== buf.readUInt32LE(pos + 8)) return 'bad';
  return { offset: pos, length: RECORD_HEADER_BYTES + len, body };
}

/** PLAIN_RECORDS is the unencrypted format (spools written before ADR 0032, and tests of it). */
export const PLAIN_RECORDS: RecordFormat = { magic: RECORD_MAGIC, encode: encodeRecord, parseAt };

/**
 * encryptedRecords is the format of the segment numbered `segmentId` under `cipher`: the AAD of
 * each record is its 8-byte header followed by the segment number (u64 LE), so a record moved to
 * another segment, or a changed length, fails to authenticate.
 */
export function encryptedRecords(cipher: SpoolCipher, segmentId: number): RecordFormat {
  const aad = Buffer.alloc(ENCRYPTED_HEADER_BYTES + 8);
  aad.writeUInt32LE(ENCRYPTED_RECORD_MAGIC, 0);
  aad.writeBigUInt64LE(BigInt(segmentId), ENCRYPTED_HEADER_BYTES);
  const aadFor = (len: number) => {
    aad.writeUInt32LE(len, 4);
    return aad;
  };
  return {
    magic: ENCRYPTED_RECORD_MAGIC,
    encode(body) {
      const len = body.byteLength + SEALED_OVERHEAD_BYTES;
      const sealed = cipher.seal(body, aadFor(len));
      const out = Buffer.allocUnsafe(ENCRYPTED_HEADER_BYTES + sealed.byteLength);
      out.writeUInt32LE(ENCRYPTED_RECORD_MAGIC, 0);
      out.writeUInt32LE(len, 4);
      sealed.copy(out, ENCRYPTED_HEADER_BYTES);
      return out;
    },
    parseAt(buf, pos) {
      if (buf.byteLength - pos < ENCRYPTED_HEADER_BYTES) return 'short';
      if (buf.readUInt32LE(pos) !== ENCRYPTED_RECORD_MAGIC) return 'bad';
      const len = buf.readUInt32LE(pos + 4);
      if (len > MAX_RECORD_BODY_BYTES || len < SEALED_OVERHEAD_BYTES) return 'bad';
      const end = pos + ENCRYPTED_HEADER_BYTES + len;
      if (end > buf.byteLength) return 'short';
      try {
        const body = cipher.open(buf.subarray(pos + ENCRYPTED_HEADER_BYTES, end), aadFor(len));
        return { offset: pos, length: ENCRYPTED_HEADER_BYTES + len, body };
      } catch {
        return 'bad';
      }
    },
  };
}

/**
 * scanRecords reads every intact record of a segment. A record that fails its checks is skipped by
 * searching for the next magic number that starts a record with a valid crc32, so one damaged
 * record never hides the records after it. Damage that reaches the end of the file is a torn tail
 * when the last header is cut short (an interrupted append), otherwise a corrupt region.
 */
export function scanRecords(buf: Buffer, format: RecordFormat = PLAIN_RECORDS): ScanResult {
  const parseAt = format.parseAt;
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(format.magic, 0);
  const records: ScannedRecord[] = [];
  let corruptRegions = 0;
  let tornTail = false;
  let pos = 0;
  while (pos < buf.byteLength) {
    const r = parseAt(buf, pos);
    if (typeof r === 'object') {
      records.push(r);
      pos = r.offset + r.length;
      continue;
    }
    // Look for the next intact record after the damage.
    let next = -1;
    for (let at = buf.indexOf(magic, pos + 1); at !== -1; at = buf.indexOf(magic, at + 1)) {
      if (typeof parseAt(buf, at) === 'object') {
        next = at;
        break;
      }
    }
    if (next === -1) {
      if (r === 'short') tornTail = true;
      else corruptRegions++;
      break;
    }
    corruptRegions++;
    pos = next;
  }
  return { records, corruptRegions, tornTail };
}
