import { crc32 } from 'node:zlib';
import { create, toBinary } from '@bufbuild/protobuf';
import { compressSync, uncompressSync } from 'lz4-napi';
import { type Event, EventSchema } from './gen/palisade/v1/event_pb.js';
import {
  EventBatchSchema,
  type EventBatchFrame,
  EventBatchFrameSchema,
} from './gen/palisade/v1/telemetry_pb.js';
import { LIMITS } from './limits.js';
import { decodeEventBatch } from './wire/batch-reader.js';

/** FrameError explains why a batch frame was refused. `code` is stable; `message` is for people. */
export class FrameError extends Error {
  constructor(
    readonly code:
      | 'bad_checksum'
      | 'too_large'
      | 'bad_compression'
      | 'bad_payload'
      | 'count_mismatch'
      | 'bad_seq',
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** encodeBatch builds an EventBatchFrame for `events` with sequence number `seq`. */
export function encodeBatch(seq: bigint, events: Event[]): EventBatchFrame {
  const body = toBinary(EventBatchSchema, create(EventBatchSchema, { events }));
  return encodeBatchBody(seq, events.length, body);
}

/** encodeBatchBody compresses an already encoded EventBatch into a frame. */
export function encodeBatchBody(seq: bigint, eventCount: number, body: Uint8Array): EventBatchFrame {
  const payload = compressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  return create(EventBatchFrameSchema, {
    seq,
    eventCount,
    uncompressedSize: body.byteLength,
    crc32: crc32(payload),
    payload,
  });
}

/**
 * decodeBatch checks and opens a batch frame: sequence, checksum, declared and actual sizes (so a
 * decompression bomb is refused before any memory is spent on it), payload and event count.
 */
export function decodeBatch(frame: EventBatchFrame, limits = LIMITS): Event[] {
  return decodeBatchWithBody(frame, limits).events;
}

/**
 * decodeBatchWithBody is decodeBatch that also returns the decompressed EventBatch bytes, so a
 * store can keep them as they are instead of encoding the events again. `decode` turns those bytes
 * into events (default: `decodeEventBatch`, the one reader of batch bytes); a caller may pass
 * another function of that reader (the server derives the batch's index with `indexEventBatch`)
 * with `count`, how many events it found.
 */
export function decodeBatchWithBody(
  frame: EventBatchFrame,
  limits?: typeof LIMITS,
): { events: Event[]; body: Uint8Array };
export function decodeBatchWithBody<T>(
  frame: EventBatchFrame,
  limits: typeof LIMITS,
  decode: (body: Uint8Array) => T,
  count: (decoded: T) => number,
): { events: T; body: Uint8Array };
export function decodeBatchWithBody(
  frame: EventBatchFrame,
  limits = LIMITS,
  decode: (body: Uint8Array) => unknown = decodeEventBatch,
  count: (decoded: unknown) => number = (d) => (d as Event[]).length,
): { events: unknown; body: Uint8Array } {
  if (frame.seq < 1n) throw new FrameError('bad_seq', `batch sequence must start at 1, got ${frame.seq}`);
  const payload = frame.payload;
  if (crc32(payload) !== frame.crc32) {
    throw new FrameError('bad_checksum', `batch ${frame.seq}: crc32 mismatch, payload corrupted in transit`);
  }
  if (frame.uncompressedSize > limits.maxBatchBytes) {
    throw new FrameError(
      'too_large',
      `batch ${frame.seq}: declares ${frame.uncompressedSize} bytes uncompressed, limit is ${limits.maxBatchBytes}`,
    );
  }
  if (frame.eventCount > limits.maxEventsPerBatch) {
    throw new FrameError(
      'too_large',
      `batch ${frame.seq}: ${frame.eventCount} events, limit is ${limits.maxEventsPerBatch}`,
    );
  }
  if (payload.byteLength < 4)
    throw new FrameError('bad_compression', `batch ${frame.seq}: payload truncated`);
  // lz4-napi allocates the size written in the first four bytes: check it before decompressing.
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const claimed = view.getUint32(0, true);
  if (claimed !== frame.uncompressedSize) {
    throw new FrameError(
      'bad_compression',
      `batch ${frame.seq}: compressed block claims ${claimed} bytes, frame says ${frame.uncompressedSize}`,
    );
  }
  let body: Buffer;
  try {
    body = uncompressSync(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  } catch (err) {
    throw new FrameError(
      'bad_compression',
      `batch ${frame.seq}: LZ4 block is corrupt (${(err as Error).message})`,
    );
  }
  if (body.byteLength !== frame.uncompressedSize) {
    throw new FrameError(
      'bad_compression',
      `batch ${frame.seq}: decompressed to ${body.byteLength} bytes, expected ${frame.uncompressedSize}`,
    );
  }
  let events: unknown;
  try {
    events = decode(body);
  } catch (err) {
    throw new FrameError(
      'bad_payload',
      `batch ${frame.seq}: not a valid EventBatch (${(err as Error).message})`,
    );
  }
  const n = count(events);
  if (n !== frame.eventCount) {
    throw new FrameError(
      'count_mismatch',
      `batch ${frame.seq}: holds ${n} events, frame says ${frame.eventCount}`,
    );
  }
  return { events, body };
}

/** encodeEvent serialises one Event. */
export function encodeEvent(event: Event): Uint8Array {
  return toBinary(EventSchema, event);
}
