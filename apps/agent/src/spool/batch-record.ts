/**
 * BatchMeta is what the spool knows about a sealed batch without opening it: its sequence number,
 * size, event time span and per-class counts (what a drop report needs).
 */
export interface BatchMeta {
  seq: number;
  eventCount: number;
  /** When the batch was sealed (agent clock, ms): the age caps use it. */
  sealedAtMs: number;
  /** Earliest and latest event time_ms in the batch. */
  minTimeMs: number;
  maxTimeMs: number;
  /** OCSF class_uid -> number of events of that class. */
  byClass: Map<number, number>;
}

const RECORD_TYPE_BATCH = 1;
const FIXED_BYTES = 40;

/**
 * encodeBatchRecord lays out a batch record body: a fixed header (type, class count, event count,
 * seq, sealed-at, time span), the per-class counts, then the EventBatchFrame bytes as sent.
 */
export function encodeBatchRecord(meta: BatchMeta, frame: Uint8Array): Buffer {
  const classes = [...meta.byClass];
  const head = FIXED_BYTES + classes.length * 8;
  const out = Buffer.allocUnsafe(head + frame.byteLength);
  out.writeUInt8(RECORD_TYPE_BATCH, 0);
  out.writeUInt8(0, 1);
  out.writeUInt16LE(classes.length, 2);
  out.writeUInt32LE(meta.eventCount, 4);
  out.writeBigUInt64LE(BigInt(meta.seq), 8);
  out.writeBigInt64LE(BigInt(meta.sealedAtMs), 16);
  out.writeBigInt64LE(BigInt(meta.minTimeMs), 24);
  out.writeBigInt64LE(BigInt(meta.maxTimeMs), 32);
  let at = FIXED_BYTES;
  for (const [cls, n] of classes) {
    out.writeUInt32LE(cls, at);
    out.writeUInt32LE(n, at + 4);
    at += 8;
  }
  out.set(frame, head);
  return out;
}

/** BatchRecordError says a record passed its crc32 but is not a batch record this build reads. */
export class BatchRecordError extends Error {
  override name = 'BatchRecordError';
}

/** decodeBatchRecord reads the header of a batch record body and returns it with the frame offset. */
export function decodeBatchRecord(body: Buffer): { meta: BatchMeta; frameOffset: number } {
  if (body.byteLength < FIXED_BYTES)
    throw new BatchRecordError(`record of ${body.byteLength} bytes is too short`);
  const type = body.readUInt8(0);
  if (type !== RECORD_TYPE_BATCH) throw new BatchRecordError(`unknown spool record type ${type}`);
  const nClasses = body.readUInt16LE(2);
  const frameOffset = FIXED_BYTES + nClasses * 8;
  if (frameOffset > body.byteLength) throw new BatchRecordError('class table runs past the record');
  const byClass = new Map<number, number>();
  for (let i = 0; i < nClasses; i++) {
    byClass.set(body.readUInt32LE(FIXED_BYTES + i * 8), body.readUInt32LE(FIXED_BYTES + i * 8 + 4));
  }
  const meta: BatchMeta = {
    seq: Number(body.readBigUInt64LE(8)),
    eventCount: body.readUInt32LE(4),
    sealedAtMs: Number(body.readBigInt64LE(16)),
    minTimeMs: Number(body.readBigInt64LE(24)),
    maxTimeMs: Number(body.readBigInt64LE(32)),
    byClass,
  };
  if (meta.seq < 1) throw new BatchRecordError(`batch record with sequence ${meta.seq}`);
  return { meta, frameOffset };
}
