// spool.bench.ts measures the agent spool: how fast events are written (sealed, compressed,
// fsynced, encrypted as the agent does it, and plain for comparison) and replayed (read back and
// decoded after a restart). Not a test; run with
// `node apps/agent/dist/spool/spool.bench.js [events]`. Ends with one JSON line of the figures.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Event,
  EventBatchFrameSchema,
  EventSchema,
  create,
  decodeBatch,
  fromBinary,
} from '@palisade/protocol';
import { SpoolCipher } from './spool-cipher.js';
import { Spool } from './spool.js';

const total = Number(process.argv[2] ?? 200_000);

function event(n: number): Event {
  return create(EventSchema, {
    classUid: 1007,
    activityId: 1,
    timeMs: BigInt(Date.now()),
    severityId: 1,
    process: {
      pid: 10_000 + (n % 5000),
      uid: `p-${n}`,
      name: 'curl',
      path: '/usr/bin/curl',
      cmdLine: `/usr/bin/curl -s https://example.test/item/${n}`,
      argv: ['/usr/bin/curl', '-s', `https://example.test/item/${n}`],
      cwd: '/home/user',
      ppid: 1234,
      user: { uid: '1000', name: 'user' },
      parent: { pid: 1234, name: 'bash', path: '/usr/bin/bash' },
    },
  });
}

function run(
  fsync: boolean,
  cipher: SpoolCipher | undefined,
): {
  writeEps: number;
  replayEps: number;
  decodeEps: number;
  bytesPerEvent: number;
} {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-spool-bench-'));
  try {
    const events = Array.from({ length: 1000 }, (_, i) => event(i));
    let spool = Spool.open({ dir, fsync, ...(cipher ? { cipher } : {}) });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < total; i++) spool.append(events[i % events.length]!);
    spool.seal();
    const t1 = process.hrtime.bigint();
    const bytes = spool.stats().bytes;
    spool.close();
    const t2 = process.hrtime.bigint();
    // Replay as the transport does it after a restart: recover the index, read each stored frame.
    spool = Spool.open({ dir, fsync, ...(cipher ? { cipher } : {}) });
    const frames: Buffer[] = [];
    let counted = 0;
    for (let e = spool.nextAfter(0); e; e = spool.nextAfter(e.meta.seq)) {
      frames.push(spool.readFrame(e)!);
      counted += e.meta.eventCount;
    }
    const t3 = process.hrtime.bigint();
    spool.close();
    // Then check every event decodes (what the server does), timed separately.
    let n = 0;
    for (const f of frames) n += decodeBatch(fromBinary(EventBatchFrameSchema, f)).length;
    const t4 = process.hrtime.bigint();
    if (n !== total || counted !== total) throw new Error(`replayed ${n}/${counted} of ${total} events`);
    return {
      writeEps: Math.round(total / (Number(t1 - t0) / 1e9)),
      replayEps: Math.round(total / (Number(t3 - t2) / 1e9)),
      decodeEps: Math.round(total / (Number(t4 - t3) / 1e9)),
      bytesPerEvent: Math.round((bytes / total) * 10) / 10,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cipher = new SpoolCipher(randomBytes(32));
// Interleaved, so a change in the machine's load hits both variants alike.
const plainSynced = run(true, undefined);
const synced = run(true, cipher);
const plainUnsynced = run(false, undefined);
const unsynced = run(false, cipher);
console.log(
  `spool bench: ${total} process events, batches of 2000, LZ4; plain = crc32 per record, encrypted = AES-256-GCM per record (ADR 0032)`,
);
console.log(
  'mode                       write ev/s   replay ev/s (recover+read)   decode ev/s   bytes/event on disk',
);
for (const [name, r] of [
  ['encrypted, fsync per batch', synced],
  ['plain, fsync per batch', plainSynced],
  ['encrypted, no fsync', unsynced],
  ['plain, no fsync', plainUnsynced],
] as const) {
  console.log(
    `${name.padEnd(26)} ${String(r.writeEps).padStart(10)}   ${String(r.replayEps).padStart(26)}   ${String(r.decodeEps).padStart(11)}   ${r.bytesPerEvent}`,
  );
}
console.log(
  JSON.stringify({
    bench: 'spool',
    events: total,
    encrypted: true,
    write_events_per_s: synced.writeEps,
    replay_events_per_s: synced.replayEps,
    decode_events_per_s: synced.decodeEps,
    write_events_per_s_nofsync: unsynced.writeEps,
    bytes_per_event: synced.bytesPerEvent,
    write_events_per_s_plain: plainSynced.writeEps,
    replay_events_per_s_plain: plainSynced.replayEps,
    write_events_per_s_nofsync_plain: plainUnsynced.writeEps,
    bytes_per_event_plain: plainSynced.bytesPerEvent,
  }),
);
