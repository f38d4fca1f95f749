// A standby that accepts connections and then stalls (TCP up, nothing answered) while the primary
// is down: the agent must not wait on it forever nor lose anything; when the primary returns, the
// agent delivers everything exactly once. Real server (its real standby listener) behind relays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@palisade/testkit';
import { failoverClient, markedEvent, serverWithAgent } from './registered-server.test-util.js';
import { TcpRelay } from './tcp-relay.test-util.js';

test('a standby that accepts then stalls: the agent leaves it, keeps every event, and delivers all once when the primary returns', async (t) => {
  const { srv, stateDir, id } = await serverWithAgent(t, 'palisade-sbstall');
  const primary = new TcpRelay(Number(new URL(srv.telemetryUrl).port));
  const standby = new TcpRelay(Number(new URL(srv.standbyUrl).port));
  await primary.open();
  await standby.open();
  t.after(() => primary.close());
  t.after(() => standby.close());
  const { spool, client } = failoverClient(t, {
    stateDir,
    id,
    primary: `wss://127.0.0.1:${primary.port}/v1/telemetry`,
    standby: `wss://127.0.0.1:${standby.port}/v1/telemetry`,
    timeoutMs: 2000,
  });
  const m = `sbstall-${process.pid}`;
  let n = 0;
  const emit = (k: number) => {
    for (let i = 0; i < k; i++) spool.append(markedEvent(m, n++));
  };
  const drained = () => spool.stats().unackedEvents === 0 && spool.stats().pendingEvents === 0;
  await waitFor('the primary session', () => client.channel === 'primary');
  emit(100);
  await waitFor('acks on the primary', drained);

  await primary.close();
  emit(100);
  await waitFor('the standby', () => client.channel === 'standby', 10_000);
  await waitFor('acks on the standby', drained);

  // The standby now accepts and answers nothing; the primary is still down.
  standby.stall();
  emit(100);
  await waitFor('the agent to give up on the stalled standby', () => client.channel !== 'standby', 15_000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(
    spool.stats().unackedEvents + spool.stats().pendingEvents,
    100,
    'the last 100 wait in the spool',
  );

  await primary.open('forward');
  await waitFor('back on the primary', () => client.channel === 'primary', 20_000);
  await waitFor('everything acked', drained, 20_000);

  const lines = new Map<string, number>();
  const page = await srv.storage.searchEvents({ agentId: id.agentId, contains: m, limit: 1000 });
  for (const e of page.events) {
    const l = e.event.process?.cmdLine ?? '';
    lines.set(l, (lines.get(l) ?? 0) + 1);
  }
  assert.equal(lines.size, 300, 'every event stored');
  assert.deepEqual(
    [...lines.values()].filter((c) => c !== 1),
    [],
    'none twice',
  );
});
