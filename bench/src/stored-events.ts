import type { Storage, StoredEvent } from '@palisade/storage';
import { sleep } from '@palisade/testkit';

/**
 * countStored counts the stored events that hold `marker` (in a command line or path) and pass
 * `keep`, paging through the whole result: this is "captured" — what reached the server's store,
 * not what the sensor saw.
 */
export async function countStored(
  storage: Storage,
  marker: string,
  keep: (e: StoredEvent) => boolean,
): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const res = await storage.searchEvents({ contains: marker, limit: 5000, ...(cursor ? { cursor } : {}) });
    for (const e of res.events) if (keep(e)) n++;
    if (!res.nextCursor) break;
    cursor = res.nextCursor;
  }
  return n;
}

/**
 * waitStored polls until `expected` marker events are stored, or the count has not moved for
 * `quietMs` (the pipeline has delivered what it will), or `maxMs` passed. Returns the last count.
 */
export async function waitStored(
  storage: Storage,
  marker: string,
  keep: (e: StoredEvent) => boolean,
  expected: number,
  quietMs = 4000,
  maxMs = 30_000,
): Promise<number> {
  const t0 = Date.now();
  let last = -1;
  let since = Date.now();
  for (;;) {
    const n = await countStored(storage, marker, keep);
    if (n >= expected) return n;
    if (n !== last) {
      last = n;
      since = Date.now();
    }
    if (Date.now() - since >= quietMs || Date.now() - t0 >= maxMs) return n;
    await sleep(500);
  }
}
