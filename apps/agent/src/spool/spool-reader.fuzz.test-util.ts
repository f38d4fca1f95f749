import { randomBytes } from 'node:crypto';
import { type FuzzTarget, fc, mutated } from '@palisade/testkit';
import { BatchRecordError, decodeBatchRecord, encodeBatchRecord } from './batch-record.js';
import { PLAIN_RECORDS, encryptedRecords, scanRecords } from './record.js';
import { SpoolCipher } from './spool-cipher.js';

const cipher = new SpoolCipher(randomBytes(32));
const formats = [PLAIN_RECORDS, encryptedRecords(cipher, 7)];

/** A valid segment: a few batch records, plain or encrypted. */
const segment = fc
  .tuple(
    fc.boolean(),
    fc.array(
      fc.record({
        seq: fc.integer({ min: 1, max: 2 ** 40 }),
        frame: fc.uint8Array({ maxLength: 200 }),
        cls: fc.nat(9000),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([enc, recs]) => {
    const f = formats[enc ? 1 : 0]!;
    return new Uint8Array(
      Buffer.concat(
        recs.map((r) =>
          f.encode(
            encodeBatchRecord(
              {
                seq: r.seq,
                eventCount: 1,
                sealedAtMs: 1,
                minTimeMs: 1,
                maxTimeMs: 2,
                byClass: new Map([[r.cls, 1]]),
              },
              r.frame,
            ),
          ),
        ),
      ),
    );
  });

/**
 * SPOOL_READER is the segment scan and batch-record decode a restarting agent runs on whatever
 * its disk holds: never a throw from the scan (damage is counted), only BatchRecordError from
 * the record decoder, and every record found lies inside the file.
 */
export const SPOOL_READER: FuzzTarget<Uint8Array> = {
  name: 'spool reader (segments, batch records)',
  refusal: 'corrupt regions counted; BatchRecordError',
  input: fc.oneof(fc.uint8Array({ maxLength: 2048 }), segment, mutated(segment)),
  check(bytes) {
    const buf = Buffer.from(bytes);
    let refused = false;
    for (const f of formats) {
      const scan = scanRecords(buf, f);
      if (scan.corruptRegions > 0 || scan.tornTail) refused = true;
      for (const r of scan.records) {
        if (r.offset < 0 || r.offset + r.length > buf.byteLength) throw new Error('record outside the file');
        try {
          decodeBatchRecord(r.body);
        } catch (err) {
          if (!(err instanceof BatchRecordError)) throw err;
          refused = true;
        }
      }
    }
    return refused ? 'refused' : 'accepted';
  },
};
