import {
  ClientFrameSchema,
  FrameError,
  LIMITS,
  decodeBatchWithBody,
  decodeEventBatch,
  fromBinary,
  indexEventBatch,
} from '@palisade/protocol';
import {
  type FuzzTarget,
  batchClientFrame,
  fc,
  makeProcessEvent,
  mutated,
  prepareBatch,
} from '@palisade/testkit';

const valid = fc
  .tuple(fc.integer({ min: 1, max: 20 }), fc.bigInt({ min: 1n, max: 2n ** 63n }), fc.nat(1000))
  .map(([n, seq, base]) =>
    batchClientFrame(seq, prepareBatch(Array.from({ length: n }, (_, i) => makeProcessEvent(base + i)))),
  );

/**
 * BATCH_FRAMES is what the telemetry listener does with one WebSocket message: parse a
 * ClientFrame (a failure is answered bad_request, agent-connection.ts), and for a batch check
 * the frame (crc32, declared sizes, LZ4, every field, event count) and index it, as the group
 * commit does. A refusal is a protobuf parse error or a FrameError, nothing else; what is
 * accepted decodes to as many events as it declared.
 */
export const BATCH_FRAMES: FuzzTarget<Uint8Array> = {
  name: 'batch frames and events',
  refusal: 'ClientFrame parse error (bad_request) or FrameError',
  input: fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    { weight: 1, arbitrary: valid },
    { weight: 4, arbitrary: mutated(valid) },
  ),
  check(bytes) {
    let frame: ReturnType<typeof fromBinary<typeof ClientFrameSchema>>;
    try {
      frame = fromBinary(ClientFrameSchema, bytes, { readUnknownFields: false });
    } catch (err) {
      if (!(err instanceof Error) || !err.message) throw new Error(`ClientFrame parse threw ${String(err)}`);
      return 'refused';
    }
    if (frame.kind.case !== 'batch') return 'accepted';
    const batch = frame.kind.value;
    try {
      const { events, body } = decodeBatchWithBody(batch, LIMITS, indexEventBatch, (ix) => ix.count);
      if (events.count !== batch.eventCount) throw new Error('accepted a batch whose count differs');
      if (decodeEventBatch(body).length !== batch.eventCount) throw new Error('index and decode disagree');
      return 'accepted';
    } catch (err) {
      if (err instanceof FrameError) return 'refused';
      throw err;
    }
  },
};
