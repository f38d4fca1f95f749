import type { Event } from '../gen/palisade/v1/event_pb.js';
import { searchText } from './search-fields.js';

/**
 * BatchIndex is what a store indexes a batch by, derived from its events. The server computes it
 * while it checks the wire bytes (`indexEventBatch`), without decoding the events, and passes it
 * along so the store does not derive it again. Its definition is `indexOfEvents(events)`.
 */
export interface BatchIndex {
  count: number;
  /** Earliest and latest event time, ms; null for an empty batch. */
  minTimeMs: bigint | null;
  maxTimeMs: bigint | null;
  /** `${classUid}.${activityId}` of the events, each once, in the order first seen. */
  kinds: string[];
  /** `searchText` of every event, in order, joined by newlines. */
  text: string;
}

/** indexOfEvents derives a batch's index from its decoded events. */
export function indexOfEvents(events: readonly Event[]): BatchIndex {
  if (events.length === 0) return { count: 0, minTimeMs: null, maxTimeMs: null, kinds: [], text: '' };
  let minTimeMs = events[0]!.timeMs;
  let maxTimeMs = minTimeMs;
  const kinds = new Set<string>();
  const texts = new Array<string>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const t = e.timeMs;
    if (t < minTimeMs) minTimeMs = t;
    if (t > maxTimeMs) maxTimeMs = t;
    kinds.add(`${e.classUid}.${e.activityId}`);
    texts[i] = searchText(e);
  }
  return { count: events.length, minTimeMs, maxTimeMs, kinds: [...kinds], text: texts.join('\n') };
}
