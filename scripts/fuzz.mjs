// npm run fuzz [-- RUNS [TARGET...]]: runs every fuzz target for RUNS inputs (default 1,000,000),
// one after another, and prints a table and one JSON line of the counts (docs/fuzzing.md). The
// targets are the same modules `npm test` runs with a small budget. Build first (npm run build).
import { fuzz } from '@palisade/testkit';

const runs = Number(process.argv[2] ?? 1_000_000);
const only = process.argv.slice(3);
const root = new URL('../', import.meta.url);
const load = async (path, names) => {
  const m = await import(new URL(path, root).href);
  return names.map((n) => m[n]);
};
const targets = [
  ...(await load('apps/server/dist/telemetry/frames.fuzz.test-util.js', ['BATCH_FRAMES'])),
  ...(await load('apps/server/dist/http/requests.fuzz.test-util.js', [
    'REGISTRATION_BODIES',
    'CHECKIN_BODIES',
    'API_PARAMETERS',
  ])),
  ...(await load('packages/detection/dist/rule/rules.fuzz.test-util.js', ['SIGMA_RULES'])),
  ...(await load('apps/agent/dist/sensors/auth/auth-input.fuzz.test-util.js', [
    'AUTH_LINES',
    'JOURNAL_ENTRIES',
  ])),
  ...(await load('apps/agent/dist/spool/spool-reader.fuzz.test-util.js', ['SPOOL_READER'])),
].filter((t) => only.length === 0 || only.some((o) => t.name.includes(o)));

const reports = [];
for (const t of targets) {
  process.stderr.write(`fuzzing ${t.name} (${runs} inputs)...\n`);
  // Live heap after a full collection, before and after: growth here would be memory kept per
  // input (unbounded); RSS alone also counts heap V8 grew into and has not returned yet.
  const heap = () => {
    globalThis.gc?.();
    return process.memoryUsage().heapUsed;
  };
  const before = heap();
  const rss0 = process.memoryUsage.rss();
  const r = await fuzz(t, runs);
  reports.push({
    ...r,
    heapGrowthMiB: Math.round((heap() - before) / 1048576),
    rssGrowthMiB: Math.round((process.memoryUsage.rss() - rss0) / 1048576),
  });
  // Each result as soon as it is known, so a finding in a later target does not lose it.
  process.stderr.write(`  done in ${(r.ms / 1000).toFixed(0)} s: ${JSON.stringify(reports.at(-1))}\n`);
}
const pad = (s, n) => String(s).padEnd(n);
console.log(
  `${pad('target', 38)} ${pad('inputs', 9)} ${pad('accepted', 9)} ${pad('refused', 9)} ${pad('slowest ms', 11)} ${pad('seconds', 8)} ${pad('heap MiB', 9)} rss MiB`,
);
for (const r of reports)
  console.log(
    `${pad(r.target, 38)} ${pad(r.runs, 9)} ${pad(r.accepted, 9)} ${pad(r.refused, 9)} ${pad(r.slowestMs, 11)} ${pad(Math.round(r.ms / 1000), 8)} ${pad(r.heapGrowthMiB, 9)} ${r.rssGrowthMiB}`,
  );
console.log(
  JSON.stringify({
    bench: 'fuzz',
    runs_per_target: runs,
    targets: Object.fromEntries(
      reports.map((r) => [
        r.target,
        {
          accepted: r.accepted,
          refused: r.refused,
          slowest_ms: r.slowestMs,
          s: Math.round(r.ms / 1000),
          heap_growth_mib: r.heapGrowthMiB,
          seed: r.seed,
        },
      ]),
    ),
  }),
);
