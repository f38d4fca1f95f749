// Failover between a primary and a standby telemetry endpoint, against the real server. The
// primary is the real telemetry listener behind a TCP relay that the test closes, stalls and
// reopens; the standby is the same server's listener reached directly (same storage).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@palisade/testkit';
import { failoverClient, markedEvent, serverWithAgent } from './registered-server.test-util.js';
import { TcpRelay } from './tcp-relay.test-util.js';

test('primary refused or stalled: moves to the standby within 10 s, fails back when healthy, nothing lost or doubled', async (t) => {
  const { srv, stateDir, id } = await serverWithAgent(t, 'palisade-failover');
  const telPort = Number(new URL(srv.telemetryUrl).port);
  const relay = new TcpRelay(telPort);
  await relay.open();
  t.after(() => relay.close());
  const { spool, client } = failoverClient(t, {
    stateDir,
    id,
    primary: `wss://127.0.0.1:${relay.port}/v1/telemetry`,
    standby: srv.telemetryUrl,
    timeoutMs: 3000,
  });
  const m = `fo-${process.pid}`;
  let n = 0;
  const emit = (k: number) => {
    for (let i = 0; i < k; i++) spool.append(markedEvent(m, n++));
  };
  await waitFor('the primary session', () => client.channel === 'primary');
  emit(100);
  await waitFor(
    'acks on the primary',
    () => spool.stats().unackedEvents === 0 && spool.stats().pendingEvents === 0,
  );

  // 1. The primary goes away (connection refused): standby within 10 s.
  await relay.close();
  let t0 = Date.now();
  emit(100);
  await waitFor('the standby session', () => client.channel === 'standby', 10_000);
  assert.ok(Date.now() - t0 < 10_000);
  await waitFor('acks on the standby', () => spool.stats().unackedEvents === 0);

  // 2. The primary is back: the client fails back.
  await relay.open('forward');
  await waitFor('fail back to the primary', () => client.channel === 'primary', 10_000);
  emit(100);
  await waitFor(
    'acks after failback',
    () => spool.stats().unackedEvents === 0 && spool.stats().pendingEvents === 0,
  );

  // 3. The primary stops answering (no acks, new connections hang): standby within 10 s.
  relay.stall();
  t0 = Date.now();
  emit(100);
  await waitFor('the standby after a stall', () => client.channel === 'standby', 10_000);
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  await waitFor(
    'acks on the standby',
    () => spool.stats().unackedEvents === 0 && spool.stats().pendingEvents === 0,
  );

  const lines = new Map<string, number>();
  const page = await srv.storage.searchEvents({ agentId: id.agentId, contains: m, limit: 1000 });
  for (const e of page.events) {
    const l = e.event.process?.cmdLine ?? '';
    lines.set(l, (lines.get(l) ?? 0) + 1);
  }
  assert.equal(lines.size, 400);
  assert.deepEqual(
    [...lines.values()].filter((c) => c !== 1),
    [],
  );
});
