import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@palisade/common';
import { Segment, type SpoolEntry, parseSegmentName, segmentName } from './segment.js';
import type { SpoolState } from './spool-state.js';
import type { SpoolCipher } from './spool-cipher.js';
import type { SyncDir } from './dir-sync.js';
import { encryptPlainSegment } from './spool-migration.js';

/** Recovered is what a spool directory held at start. */
export interface Recovered {
  /** Every segment on disk, oldest first, sealed (never appended to again). */
  segments: Segment[];
  /** Intact batches above the ack watermark, in sequence order. */
  unacked: SpoolEntry[];
  /** The next free segment number. */
  nextSegmentId: number;
  /** Segments that ended in a torn record. */
  tornTails: number;
  /** Whether `state` was changed (newly found corruption) and must be saved. */
  stateChanged: boolean;
  /** Plain segments (from before encryption) rewritten encrypted at this start. */
  migratedSegments: number;
}

/**
 * recoverSpool scans every segment of `dir`, keeping intact batches not yet acked. It raises
 * state.lastSeq to the highest sequence found (so numbers are never reused) and records newly
 * found corruption per segment (so a restart does not count it twice).
 */
export function recoverSpool(
  dir: string,
  state: SpoolState,
  log: Logger,
  cipher?: SpoolCipher,
  syncDir?: SyncDir,
): Recovered {
  const names = readdirSync(dir);
  // A migration cut short by a crash leaves its temporary file beside the plain segment.
  for (const n of names) if (n.endsWith('.enc.tmp')) unlinkSync(join(dir, n));
  const ids = names
    .map(parseSegmentName)
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
  const out: Recovered = {
    segments: [],
    unacked: [],
    nextSegmentId: 1,
    tornTails: 0,
    stateChanged: false,
    migratedSegments: 0,
  };
  let maxSeq = Math.max(state.lastSeq, state.ackedSeq);
  const seen = new Set<number>();
  for (const id of ids) {
    const migrated = cipher && syncDir ? encryptPlainSegment(dir, id, cipher, syncDir) : undefined;
    if (migrated) {
      out.migratedSegments++;
      log.info(
        { segment: segmentName(id), records: migrated.records },
        'encrypted a spool segment written before encryption',
      );
    }
    const seg = Segment.load(dir, id, cipher);
    if (migrated) {
      seg.corruptRegions += migrated.corruptRegions;
      seg.tornTail ||= migrated.tornTail;
    }
    const name = seg.path.slice(seg.path.lastIndexOf('/') + 1);
    if (seg.tornTail) {
      out.tornTails++;
      log.warn({ segment: seg.path }, 'spool segment ends in a torn record (interrupted write); skipped it');
    }
    if (seg.corruptRegions > 0 && state.corruptBySegment[name] === undefined) {
      state.corruptBySegment[name] = seg.corruptRegions;
      out.stateChanged = true;
      log.error(
        { segment: seg.path, corruptRecords: seg.corruptRegions },
        'spool segment has corrupt records; skipped them and kept the rest',
      );
    }
    seg.seal();
    out.segments.push(seg);
    out.nextSegmentId = id + 1;
    for (const e of seg.entries) {
      if (e.meta.seq > maxSeq) maxSeq = e.meta.seq;
      if (e.meta.seq <= state.ackedSeq || seen.has(e.meta.seq)) continue;
      seen.add(e.meta.seq);
      out.unacked.push(e);
    }
  }
  out.unacked.sort((a, b) => a.meta.seq - b.meta.seq);
  state.lastSeq = maxSeq;
  return out;
}
