import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SimulatedAgent, httpsRequest, makeProcessEvent, waitFor } from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';

/** sample reads one series' value from the exposition text (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe('/metrics, /healthz and /readyz on the registration listener', () => {
  let t: TestServer;
  let metricsToken = '';
  const scrape = async (token: string | null = metricsToken) => {
    const r = await httpsRequest(`${t.server.registrationUrl}/metrics`, {
      ca: t.server.caPem,
      ...(token === null ? {} : { headers: { authorization: `Bearer ${token}` } }),
    });
    return { status: r.status, contentType: r.contentType, text: r.body.toString('utf8') };
  };

  before(async () => {
    t = await startTestServer();
    const r = await t.api('POST', '/api/v1/tokens', { body: { name: 'prometheus', role: 'metrics' } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    metricsToken = r.json.secret;
  });
  after(() => t.stop());

  test('a metrics token reads /metrics and nothing else; no token is a 401', async () => {
    const none = await scrape(null);
    assert.equal(none.status, 401);
    assert.doesNotMatch(none.text, /palisade_/);
    const ok = await scrape();
    assert.equal(ok.status, 200);
    assert.match(ok.contentType, /^text\/plain/);
    // An admin token may scrape too (metrics is the lowest role).
    assert.equal((await scrape(t.adminToken)).status, 200);
    const agents = await t.api('GET', '/api/v1/agents', { token: metricsToken });
    assert.equal(agents.status, 403);
    assert.equal(agents.json.error.code, 'forbidden');
  });

  test('counters move with real traffic from simulated agents; gauges show them connected', async (tc) => {
    const beforeText = (await scrape()).text;
    const received0 = sample(beforeText, 'palisade_events_received_total', { listener: 'primary' }) ?? 0;
    const stored0 = sample(beforeText, 'palisade_events_stored_total', { listener: 'primary' }) ?? 0;
    const agents = await Promise.all(
      [1, 2, 3].map(() =>
        SimulatedAgent.register({
          registrationUrl: t.server.registrationUrl,
          registrationKey: t.registrationKey,
          caPem: t.server.caPem,
        }),
      ),
    );
    tc.after(() => Promise.all(agents.map((a) => a.close().catch(() => {}))));
    for (const a of agents) await a.connect();
    const perBatch = 50;
    const batches = 4;
    // Traffic runs while we scrape: the endpoint answers during ingest.
    const traffic: Promise<unknown> = Promise.all(
      agents.map(async (a) => {
        for (let b = 0; b < batches; b++)
          await a.sendBatch(Array.from({ length: perBatch }, (_, i) => makeProcessEvent(b * perBatch + i)));
      }),
    );
    const during = await scrape();
    assert.equal(during.status, 200);
    await traffic;
    const sent = agents.length * batches * perBatch;
    let text = '';
    await waitFor('the stored events in /metrics', async () => {
      text = (await scrape()).text;
      return (sample(text, 'palisade_events_stored_total', { listener: 'primary' }) ?? 0) - stored0 >= sent;
    });
    assert.equal(
      (sample(text, 'palisade_events_received_total', { listener: 'primary' }) ?? 0) - received0,
      sent,
    );
    assert.equal(
      (sample(text, 'palisade_events_stored_total', { listener: 'primary' }) ?? 0) - stored0,
      sent,
    );
    assert.equal(
      sample(text, 'palisade_agents_connected', { listener: 'primary', node: t.server.metrics.node }),
      3,
    );
    assert.equal(sample(text, 'palisade_agents_connected', { listener: 'standby' }), 0);
    assert.ok((sample(text, 'palisade_batch_events_count', { listener: 'primary' }) ?? 0) >= 12);
    assert.equal(sample(text, 'palisade_batch_events_bucket', { listener: 'primary', le: '10' }) ?? 0, 0);
    assert.ok((sample(text, 'palisade_batch_events_bucket', { listener: 'primary', le: '50' }) ?? 0) >= 12);
    assert.ok((sample(text, 'palisade_ack_latency_seconds_count', { listener: 'primary' }) ?? 0) >= 12);
    assert.ok((sample(text, 'palisade_ack_latency_seconds_sum', { listener: 'primary' }) ?? 0) > 0);
    assert.ok((sample(text, 'palisade_storage_commit_seconds_count', { listener: 'primary' }) ?? 0) >= 1);
    assert.ok(
      (sample(text, 'palisade_batches_stored_total', { listener: 'primary', outcome: 'stored' }) ?? 0) >= 12,
    );
    assert.equal(sample(text, 'palisade_storage_writer_up'), 1);
    for (const state of ['pending', 'delivered', 'succeeded', 'failed', 'expired'])
      assert.equal(sample(text, 'palisade_commands', { state }), 0, state);
    assert.equal(sample(text, 'palisade_flow_control_pauses_total', { listener: 'primary' }) ?? 0, 0);
    // prom-client's process metrics.
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 1024 * 1024);
    assert.ok((sample(text, 'process_cpu_seconds_total') ?? 0) > 0);
    // A duplicate resend counts as a duplicate, not as stored events.
    const a = agents[0]!;
    await a.sendBatch([makeProcessEvent(1)], 1n);
    text = (await scrape()).text;
    assert.equal(
      (sample(text, 'palisade_events_stored_total', { listener: 'primary' }) ?? 0) - stored0,
      sent,
    );
    assert.equal(
      sample(text, 'palisade_batches_stored_total', { listener: 'primary', outcome: 'duplicate' }),
      1,
    );
    await Promise.all(agents.map((x) => x.close()));
    await waitFor(
      'no agent connected in /metrics',
      async () => sample((await scrape()).text, 'palisade_agents_connected', { listener: 'primary' }) === 0,
    );
  });

  test('/healthz is alive and /readyz ready without a token; both say nothing about the fleet', async () => {
    const live = await t.api('GET', '/healthz', { token: null });
    assert.equal(live.status, 200);
    assert.equal(live.json.status, 'alive');
    const ready = await t.api('GET', '/readyz', { token: null });
    assert.equal(ready.status, 200, JSON.stringify(ready.json));
    assert.equal(ready.json.status, 'ready');
    assert.deepEqual(
      ready.json.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]),
      [
        ['storage_writable', true],
        ['ingest_writers', true],
        ['certificates', true],
      ],
    );
    assert.doesNotMatch(JSON.stringify(ready.json), /connected|agents/);
    assert.equal((await t.api('GET', '/readyz?x=1', { token: null })).status, 400);
  });
});
