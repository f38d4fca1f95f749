// Back-pressure counts what is held: a rogue agent sends batch frames that carry a tiny payload
// inside a 1 MiB message (padding in an unknown field), and does not wait for acks. The server
// must count what it keeps for real (it keeps a copy of the payload, not the message), refuse the
// connection once it goes over the in-flight window it announced, and its memory must stay
// bounded. The store is made slow for real (another connection holds the SQLite write lock), so
// nothing drains while the rogue pushes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EventBatchFrameSchema, LIMITS, encodeBatch, toBinary, wrapBatchFrame } from '@palisade/protocol';
import { SimulatedAgent, makeProcessEvent, prepareBatch, waitFor } from '@palisade/testkit';
import Database from 'better-sqlite3';
import { startTestServer } from '../testing/harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const PADDING = 1024 * 1024;

/** rogueFrame is ClientFrame{batch} for a valid one-event batch, padded to 1 MiB by an unknown field. */
function rogueFrame(seq: bigint): Buffer {
  const frame = toBinary(EventBatchFrameSchema, encodeBatch(seq, [makeProcessEvent(Number(seq))]));
  // Field 15 (unknown to EventBatchFrame), length-delimited: 0x7a, varint length, bytes.
  const len = [0x80 | (PADDING & 0x7f), 0x80 | ((PADDING >>> 7) & 0x7f), PADDING >>> 14];
  const padded = Buffer.concat([
    Buffer.from(frame),
    Buffer.from([0x7a, ...len]),
    Buffer.alloc(PADDING, 0x41),
  ]);
  return wrapBatchFrame(padded);
}

function heldMiB(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers / 1048576;
}

test('a rogue agent: memory held is counted as what it is, over the window it is refused, memory stays bounded', async (t) => {
  // Heartbeats are written on the main thread: keep them from waiting on the lock held below.
  const srv = await startTestServer({ heartbeatFlushMs: 3_600_000 });
  t.after(() => srv.stop());
  const rogue = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  const welcome = await rogue.connect();
  assert.equal(welcome.maxInFlight, LIMITS.maxInFlightBatches, 'Welcome announces the window');
  const good = await SimulatedAgent.register({
    registrationUrl: srv.server.registrationUrl,
    registrationKey: srv.registrationKey,
    caPem: srv.server.caPem,
  });
  await good.connect();
  t.after(() => good.close());

  const locker = new Database(join(srv.dataDir, 'palisade.db'));
  t.after(() => locker.close());
  const base = heldMiB();
  locker.exec('BEGIN IMMEDIATE'); // the server's writes now wait for this lock
  try {
    // Within the window: 8 frames of 1 MiB each, none acked while the lock is held.
    const window = welcome.maxInFlight;
    for (let s = 1; s <= window; s++) rogue.sendFrame(rogueFrame(BigInt(s)));
    await waitFor('the server to queue them', () => srv.server.ingestStats().queuedBytes > 0, 5000).catch(
      (err) => {
        t.diagnostic(
          JSON.stringify(
            { errors: rogue.errors, stats: srv.server.ingestStats(), close: rogue.closeCode },
            (_k, v) => (typeof v === 'bigint' ? String(v) : v),
          ),
        );
        throw err;
      },
    );
    await new Promise((r) => setTimeout(r, 300)); // let the rest of the 8 MiB arrive
    const held = heldMiB() - base;
    const counted = srv.server.ingestStats().queuedBytes / 1048576;
    t.diagnostic(`within the window: ${held.toFixed(1)} MiB held, ${counted.toFixed(3)} MiB counted`);
    assert.ok(held < counted + 4, `held ${held.toFixed(1)} MiB, the queue counts ${counted.toFixed(3)} MiB`);

    // Over the window: the next frame is refused and the connection closed.
    const refusal = rogue.nextError(5000);
    for (let s = window + 1; s <= window + 40; s++) {
      try {
        rogue.sendFrame(rogueFrame(BigInt(s)));
      } catch {
        break; // closed
      }
    }
    const e = await refusal;
    assert.equal(e.code, 'window_exceeded');
    assert.equal(e.fatal, true);
    await rogue.closed(5000);
    const after = heldMiB() - base;
    t.diagnostic(`after ${window + 40} frames of 1 MiB: ${after.toFixed(1)} MiB held`);
    assert.ok(after < 16, `server holds ${after.toFixed(1)} MiB after the flood`);
  } finally {
    locker.exec('COMMIT');
  }
  // The server goes on serving everyone else, and stored what the rogue sent within its window.
  const ack = await good.sendBatch(prepareBatch([makeProcessEvent(1)]));
  assert.equal(ack.duplicate, false);
  await waitFor(
    'the rogue batches within the window',
    async () => (await srv.server.storage.lastSeq(rogue.agentId)) === 8n,
    10_000,
  );
});
