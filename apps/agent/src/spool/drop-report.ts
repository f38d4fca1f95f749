import type { BatchMeta } from './batch-record.js';

/**
 * DropReport says exactly what the spool threw away because a cap was hit: how many events and
 * batches, how many of each OCSF class, and the event time span they covered.
 */
export interface DropReport {
  events: number;
  batches: number;
  /** OCSF class_uid -> events dropped. */
  byClass: Record<string, number>;
  /** Earliest and latest event time (ms since the epoch) among dropped events; 0 when none. */
  firstTimeMs: number;
  lastTimeMs: number;
}

/** emptyDropReport is a report of nothing dropped. */
export function emptyDropReport(): DropReport {
  return { events: 0, batches: 0, byClass: {}, firstTimeMs: 0, lastTimeMs: 0 };
}

/** addDroppedBatch counts one dropped batch into `report`. */
export function addDroppedBatch(report: DropReport, meta: BatchMeta): void {
  report.events += meta.eventCount;
  report.batches += 1;
  for (const [cls, n] of meta.byClass) report.byClass[cls] = (report.byClass[cls] ?? 0) + n;
  if (meta.eventCount > 0) {
    if (report.firstTimeMs === 0 || meta.minTimeMs < report.firstTimeMs) report.firstTimeMs = meta.minTimeMs;
    if (meta.maxTimeMs > report.lastTimeMs) report.lastTimeMs = meta.maxTimeMs;
  }
}
