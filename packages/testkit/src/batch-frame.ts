import {
  type Event,
  type EventBatchFrame,
  clientFrameWithSeq,
  encodeBatch,
  encodeFrameWithoutSeq,
} from '@palisade/protocol';

/** PreparedBatch is a batch compressed and checksummed once, to be sent under any sequence number. */
export interface PreparedBatch {
  eventCount: number;
  /** The encoded EventBatchFrame without its sequence number; the number is written per send. */
  tail: Uint8Array;
}

/** prepareBatch compresses `events` into the reusable part of a batch frame. */
export function prepareBatch(events: Event[]): PreparedBatch {
  const { seq: _seq, $typeName: _t, ...rest } = encodeBatch(1n, events);
  return prepareFrame(rest);
}

/** prepareFrame keeps any EventBatchFrame's fields (also deliberately broken ones) for sending. */
export function prepareFrame(
  frame: Omit<EventBatchFrame, 'seq' | '$typeName'> & { seq?: bigint },
): PreparedBatch {
  const { seq: _seq, ...rest } = frame;
  return { eventCount: frame.eventCount, tail: encodeFrameWithoutSeq(rest) };
}

/** batchClientFrame encodes ClientFrame{batch: {seq, ...prepared}} without re-encoding the payload. */
export function batchClientFrame(seq: bigint, p: PreparedBatch): Uint8Array {
  const b = clientFrameWithSeq(seq, p.tail);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
