import { crc32 } from 'node:zlib';

/** RECORD_MAGIC starts every spool record ("PSL1"); it is what a scan resynchronises on. */
export const RECORD_MAGIC = 0x50534c31;
/** RECORD_HEADER_BYTES is magic, body length and crc32, each a little-endian u32. */
export const RECORD_HEADER_BYTES = 12;
/** MAX_RECORD_BODY_BYTES bounds one record so a damaged length field cannot make us read gigabytes. */
export const MAX_RECORD_BODY_BYTES = 64 * 1024 * 1024;

const MAGIC_BYTES = Buffer.alloc(4);
MAGIC_BYTES.writeUInt32LE(RECORD_MAGIC, 0);

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
  body: Buffer;
}

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
  return { offset: pos, body };
}

/**
 * scanRecords reads every intact record of a segment. A record that fails its checks is skipped by
 * searching for the next magic number that starts a record with a valid crc32, so one damaged
 * record never hides the records after it. Damage that reaches the end of the file is a torn tail
 * when the last header is cut short (an interrupted append), otherwise a corrupt region.
 */
export function scanRecords(buf: Buffer): ScanResult {
  const records: ScannedRecord[] = [];
  let corruptRegions = 0;
  let tornTail = false;
  let pos = 0;
  while (pos < buf.byteLength) {
    const r = parseAt(buf, pos);
    if (typeof r === 'object') {
      records.push(r);
      pos = r.offset + RECORD_HEADER_BYTES + r.body.byteLength;
      continue;
    }
    // Look for the next intact record after the damage.
    let next = -1;
    for (let at = buf.indexOf(MAGIC_BYTES, pos + 1); at !== -1; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
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
