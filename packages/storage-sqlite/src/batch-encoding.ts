import { create, EventBatchSchema, toBinary } from '@palisade/protocol';
import { PalisadeError } from '@palisade/common';
import { type IncomingBatch, indexOfEvents } from '@palisade/storage';
import { EVENTS_PER_BATCH_ID } from './event-id.js';

const MAX_SEQ = 2n ** 63n - 1n;

/**
 * BatchRow is a batch turned into the column values of its rows, except that the body is still
 * uncompressed (compression happens where the write happens, possibly on the writer thread).
 * Plain data only, so it can be posted to a worker.
 */
export interface BatchRow {
  agentId: string;
  seq: bigint;
  receivedAt: number;
  count: number;
  /** Earliest and latest event time, ms, exact int64 (agents may send any value). */
  minTime: bigint | null;
  maxTime: bigint | null;
  /** " class.activity " tokens of the batch's events, space-separated and padded, for instr(). */
  kinds: string;
  /** searchText of every event, newline-separated. */
  text: string;
  /** The EventBatch protobuf; null for an empty batch. */
  body: Uint8Array | null;
}

/**
 * describeBatch validates a batch and computes what its rows hold. It runs before the write
 * transaction so that the transaction (and the write lock) is as short as possible, and nothing is
 * written when any batch of a call is invalid.
 */
export function describeBatch(b: IncomingBatch): BatchRow {
  if (typeof b.seq !== 'bigint' || b.seq < 1n || b.seq > MAX_SEQ) {
    throw new PalisadeError(
      'validation_failed',
      `batch seq must be an integer from 1 to 2^63-1, got ${String(b.seq)} (agent ${b.agentId})`,
    );
  }
  if (!Number.isSafeInteger(b.receivedAt)) {
    throw new PalisadeError(
      'validation_failed',
      `batch ${b.seq} of agent ${b.agentId}: receivedAt must be an integer (ms), got ${String(b.receivedAt)}`,
    );
  }
  const ix = b.index ?? indexOfEvents(b.events);
  if (ix.count >= EVENTS_PER_BATCH_ID) {
    throw new PalisadeError(
      'validation_failed',
      `batch ${b.seq} of agent ${b.agentId} holds ${ix.count} events; at most ${EVENTS_PER_BATCH_ID - 1} can be stored as one batch`,
    );
  }
  let kindText = ' ';
  for (const k of ix.kinds) kindText += `${k} `;
  const empty = ix.count === 0;
  return {
    agentId: b.agentId,
    seq: b.seq,
    receivedAt: b.receivedAt,
    count: ix.count,
    minTime: ix.minTimeMs,
    maxTime: ix.maxTimeMs,
    kinds: kindText,
    text: ix.text,
    body: empty
      ? null
      : (b.body ?? toBinary(EventBatchSchema, create(EventBatchSchema, { events: b.events }))),
  };
}
