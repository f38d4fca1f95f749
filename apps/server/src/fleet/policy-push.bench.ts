// Benchmark (not part of npm test): how long a group policy change takes to reach N connected
// agents. A real server (TLS, SQLite) on loopback, N simulated agents speaking the real protocol.
// Run: node apps/server/dist/fleet/policy-push.bench.js [N=300]
import { SimulatedAgent } from '@palisade/testkit';
import { startTestServer } from '../testing/harness.js';

const n = Number(process.argv[2] ?? 300);
const t = await startTestServer();
const agents: SimulatedAgent[] = [];
try {
  for (let i = 0; i < n; i++) {
    const a = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
    await a.connect();
    agents.push(a);
  }
  const results: number[] = [];
  for (const tier of ['workstation', 'server', 'workstation']) {
    const started = performance.now();
    const r = await t.api('PATCH', '/api/v1/groups/default/policy', { body: { tier } });
    if (r.status !== 200) throw new Error(JSON.stringify(r.json));
    const revision = BigInt(r.json.policy.revision);
    const until = Date.now() + 30_000;
    while (
      !agents.every((a) =>
        a.commands.some((c) => c.action.case === 'setPolicy' && c.action.value.revision === revision),
      )
    ) {
      if (Date.now() > until) throw new Error('not every agent got the policy within 30 s');
      await new Promise((res) => setTimeout(res, 1));
    }
    results.push(performance.now() - started);
  }
  console.log(
    JSON.stringify({ agents: n, ms_until_all_have_policy: results.map((x) => Math.round(x * 10) / 10) }),
  );
} finally {
  for (const a of agents) await a.close();
  await t.stop();
}
