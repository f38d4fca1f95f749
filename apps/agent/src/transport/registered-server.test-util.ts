// Test-only: a real server on ephemeral ports with one agent identity registered to it, and the
// marked events the transport tests send through it.
import type { TestContext } from 'node:test';
import { silentLogger } from '@palisade/common';
import { create, type Event, EventSchema } from '@palisade/protocol';
import { type RunningServer, startServer } from '@palisade/server';
import { readKey, tempDir } from '../agent-harness.test-util.js';
import { register } from '../identity/register.js';

/** markedEvent is a process launch whose command line is `<marker>-<i>`, to count deliveries. */
export function markedEvent(marker: string, i: number): Event {
  return create(EventSchema, {
    classUid: 1007,
    activityId: 1,
    timeMs: BigInt(Date.now()),
    process: { cmdLine: `${marker}-${i}` },
  });
}

/** serverWithAgent starts a server (closed after the test) and registers an agent identity to it. */
export async function serverWithAgent(t: TestContext, prefix: string) {
  const srv: RunningServer = await startServer({
    dataDir: tempDir(`${prefix}-srv-`),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  t.after(() => srv.close());
  const stateDir = tempDir(`${prefix}-`);
  const id = await register({
    stateDir,
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(srv.dataDir),
    caPem: srv.caPem,
    logger: silentLogger,
  });
  return { srv, stateDir, id };
}
