import {
  ClientFrameSchema,
  type Event,
  type EventBatchFrame,
  create,
  encodeBatch,
  toBinary,
} from '@palisade/protocol';

/** PreparedBatch is a batch compressed and checksummed once, to be sent under any sequence number. */
export interface PreparedBatch {
  eventCount: number;
  /** Encoded fields 2..5 of EventBatchFrame (count, size, crc32, payload); seq is prepended per send. */
  tail: Uint8Array;
}

function varint(n: bigint | number, out: number[]): void {
  let v = BigInt(n);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/** prepareBatch compresses `events` into the reusable part of a batch frame. */
export function prepareBatch(events: Event[]): PreparedBatch {
  const f = encodeBatch(1n, events);
  return prepareFrame({ ...f, seq: 0n });
}

/** prepareFrame keeps any EventBatchFrame's fields (also deliberately broken ones) for sending. */
export function prepareFrame(
  frame: Omit<EventBatchFrame, 'seq' | '$typeName'> & { seq?: bigint },
): PreparedBatch {
  const whole = toBinary(
    ClientFrameSchema,
    create(ClientFrameSchema, { kind: { case: 'batch', value: { ...frame, seq: 0n } } }),
  );
  // whole = tag(2,LEN) len [fields 2..5]; with seq 0 protobuf omits field 1, so skip the header.
  let i = 1;
  while ((whole[i] ?? 0) & 0x80) i++;
  return { eventCount: frame.eventCount, tail: whole.subarray(i + 1) };
}

/**
 * batchClientFrame encodes ClientFrame{batch: EventBatchFrame{seq, ...prepared}} without
 * re-encoding the payload: only the sequence number and two lengths are written per send.
 */
export function batchClientFrame(seq: bigint, p: PreparedBatch): Uint8Array {
  const head: number[] = [0x08]; // field 1 (seq), varint
  varint(seq, head);
  const innerLen = head.length + p.tail.byteLength;
  const prefix: number[] = [0x12]; // ClientFrame field 2 (batch), length-delimited
  varint(innerLen, prefix);
  const out = new Uint8Array(prefix.length + innerLen);
  out.set(prefix, 0);
  out.set(head, prefix.length);
  out.set(p.tail, prefix.length + head.length);
  return out;
}
