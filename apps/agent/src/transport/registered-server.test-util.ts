// Test-only: a real server on ephemeral ports with one agent identity registered to it, and the
// marked events the transport tests send through it.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { silentLogger } from '@palisade/common';
import { create, type Event, EventSchema } from '@palisade/protocol';
import { type RunningServer, startServer } from '@palisade/server';
import { tempDir } from '@palisade/testkit';
import { readKey } from '../agent-harness.test-util.js';
import type { Identity } from '../identity/identity-store.js';
import { register } from '../identity/register.js';
import { Spool } from '../spool/index.js';
import { inertHooks } from './inert-hooks.test-util.js';
import { TelemetryClient } from './telemetry-client.js';

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

/**
 * failoverClient starts a TelemetryClient for `id` over a fresh spool in `stateDir`, with quick
 * timeouts so failover tests run in seconds; both are stopped after the test.
 */
export function failoverClient(
  t: TestContext,
  o: { stateDir: string; id: Identity; primary: string; standby: string; timeoutMs: number },
) {
  const spool = Spool.open({ dir: join(o.stateDir, 'spool'), batchIntervalMs: 20 });
  const client = new TelemetryClient({
    endpoints: () => ({ primary: o.primary, standby: o.standby }),
    tls: { ca: o.id.caPem, cert: o.id.certPem, key: o.id.keyPem },
    spool,
    hooks: inertHooks(),
    logger: silentLogger,
    ackTimeoutMs: o.timeoutMs,
    connectTimeoutMs: o.timeoutMs,
    failbackProbeMs: 500,
  });
  client.start();
  t.after(async () => {
    await client.stop();
    spool.close();
  });
  return { spool, client };
}
