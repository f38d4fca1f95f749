/**
 * writer-thread is the entry point of the storage writer worker: it owns a second connection to
 * the database and performs batch writes there, so the LZ4 compression, the inserts and above all
 * the fsync of each commit run on another core while the server's main thread keeps decoding the
 * next batches. Messages are handled strictly in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PalisadeError } from '@palisade/common';
import type { BatchRow } from './batch-encoding.js';
import { BatchWriter } from './batch-writer.js';
import { openDatabase } from './database.js';
import { Statements } from './statements.js';
import type { WriterReply, WriterRequest } from './writer-protocol.js';

const port = parentPort;
if (!port) throw new Error('writer-thread must run as a worker thread');
// The writer only appends: a small cache holds the b-tree pages it touches.
const db = openDatabase((workerData as { path: string }).path, { cacheMiB: 16 });
const writer = new BatchWriter(db, new Statements(db));
port.postMessage('ready' satisfies WriterReply);

port.on('message', (msg: WriterRequest) => {
  if (msg.type === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    reply = { id: msg.id, results: writer.write(msg.rows as BatchRow[]) };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    reply = {
      id: msg.id,
      error: {
        message: e.message,
        palisadeCode: err instanceof PalisadeError ? err.code : undefined,
        sqliteCode: typeof e.code === 'string' && !(err instanceof PalisadeError) ? e.code : undefined,
      },
    };
  }
  port.postMessage(reply);
});
