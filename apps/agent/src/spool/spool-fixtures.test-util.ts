import {
  type Event,
  EventBatchFrameSchema,
  EventSchema,
  create,
  decodeBatch,
  fromBinary,
} from '@palisade/protocol';
import type { Spool } from './spool.js';

/** makeEvent builds a process event whose command line carries `n` so tests can tell events apart. */
export function makeEvent(n: number, classUid = 1007, timeMs = 1_700_000_000_000 + n): Event {
  return create(EventSchema, {
    classUid,
    activityId: 1,
    timeMs: BigInt(timeMs),
    process: { pid: 1000 + n, cmdLine: `/bin/echo event-${n}` },
  });
}

/** drain reads every unacked batch of the spool: its sequence and decoded events. */
export function drain(spool: Spool): { seq: number; events: Event[] }[] {
  const out: { seq: number; events: Event[] }[] = [];
  for (let e = spool.nextAfter(0); e; e = spool.nextAfter(e.meta.seq)) {
    const bytes = spool.readFrame(e);
    if (!bytes) throw new Error(`batch ${e.meta.seq} is unreadable`);
    const frame = fromBinary(EventBatchFrameSchema, bytes);
    out.push({ seq: Number(frame.seq), events: decodeBatch(frame) });
  }
  return out;
}

/** cmdLines lists the command lines of the events of every batch, in order. */
export function cmdLines(batches: { events: Event[] }[]): string[] {
  return batches.flatMap((b) => b.events.map((e) => e.process?.cmdLine ?? ''));
}
