// bench:detection — events/s through the Sigma engine with every SigmaHQ Linux rule and the
// default pack loaded, on one core, beside the cost of protobuf-decoding the same events (the
// floor detection is compared with). Prints a table and ends with one JSON line.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { compileRuleSet, DetectionEngine, type RuleSet } from '@palisade/detection';
import { DEFAULT_RULES_DIR, readRuleFiles } from '@palisade/detection/files';
import { create, EventBatchSchema, type Event, fromBinary, toBinary } from '@palisade/protocol';
import { sharedDataDir } from '@palisade/testkit';
import { makeMixEvents } from './detection-events.js';
import { printTable, progress } from './table.js';

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '5' },
  },
});
const N = Number(opts.events);
const BATCH = Number(opts.batch);
const ROUNDS = Number(opts.rounds);

const sigma = join(sharedDataDir('sigma/rules/linux'), 'sigma');
const { files } = readRuleFiles([
  join(sigma, 'rules'),
  join(sigma, 'rules-emerging-threats'),
  join(sigma, 'rules-threat-hunting'),
  DEFAULT_RULES_DIR,
]);
progress(`compiling ${files.length} rule files`);
const t = performance.now();
const set = compileRuleSet(files);
const compileMs = performance.now() - t;
const loaded = set.statuses.filter((s) => s.state === 'loaded').length;

progress(`making ${N} events`);
const events = makeMixEvents(N);
const batches: Uint8Array[] = [];
for (let i = 0; i < N; i += BATCH)
  batches.push(toBinary(EventBatchSchema, create(EventBatchSchema, { events: events.slice(i, i + BATCH) })));
const ctx = { agentId: 'agent-1', hostname: 'bench-host' };

/**
 * measure: µs of CPU (user + system) per event of `fn` over all events, best of ROUNDS — the
 * machine is shared and noisy, and CPU time is less disturbed by other processes than wall time.
 */
function measure(fn: () => number): { us: number; matches: number } {
  let best = Infinity;
  let matches = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    matches = fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, c.user + c.system);
  }
  return { us: best / N, matches };
}

function decodeAll(): number {
  let n = 0;
  for (const b of batches) n += fromBinary(EventBatchSchema, b).events.length;
  return n;
}

function detectAll(engine: DetectionEngine, list: Event[]): number {
  let m = 0;
  for (const e of list) m += engine.evaluate(e, ctx).length;
  return m;
}

function withPrefilter(s: RuleSet, on: boolean): void {
  for (const p of s.partitions.values()) p.prefilter = on;
}

progress('decode floor');
const decode = measure(() => decodeAll());
const decoded = batches.flatMap((b) => fromBinary(EventBatchSchema, b).events);

progress('detection (partitioned, prefilter)');
const engine = new DetectionEngine(set);
detectAll(engine, decoded); // warm up
const full = measure(() => detectAll(engine, decoded));

progress('detection without the prefilter');
withPrefilter(set, false);
const naive = measure(() => detectAll(engine, decoded));

progress('detection without partitioning (every rule on every event)');
// Every partition's rules on every event, read through that partition's fields: what one flat
// rule list would cost (the prefilter is still off).
const flatSet: RuleSet = {
  ...set,
  byType: new Map([...set.byType.keys()].map((t) => [t, [...set.partitions.values()]])),
};
const flatEngine = new DetectionEngine(flatSet);
const flat = measure(() => detectAll(flatEngine, decoded));
withPrefilter(set, true);

progress('decode + detect');
const e2 = new DetectionEngine(set);
const both = measure(() => {
  let m = 0;
  for (const b of batches)
    for (const e of fromBinary(EventBatchSchema, b).events) m += e2.evaluate(e, ctx).length;
  return m;
});

const perPartition = [...set.partitions].map(([k, p]) => ({ k, ...p.stats() }));
printTable(
  `bench:detection — ${N} events (mix: 60% exec, 10% exit, 15% file, 8% connect, 5% dns, 2% auth), ${loaded} rules loaded, one core, CPU µs, best of ${ROUNDS}`,
  ['step', 'µs/event', 'events/s', 'matches'],
  [
    ['protobuf decode (floor)', decode.us.toFixed(3), Math.round(1e6 / decode.us), '-'],
    ['detect: flat rule list, no prefilter', flat.us.toFixed(3), Math.round(1e6 / flat.us), flat.matches],
    ['detect: partitioned by log source', naive.us.toFixed(3), Math.round(1e6 / naive.us), naive.matches],
    ['detect: partitioned + literal prefilter', full.us.toFixed(3), Math.round(1e6 / full.us), full.matches],
    ['decode + detect', both.us.toFixed(3), Math.round(1e6 / both.us), both.matches],
  ],
);
printTable(
  'partitions',
  ['log source', 'rules', 'always run', 'literals', 'exact values', 'automaton states'],
  perPartition.map((p) => [p.k, p.rules, p.always, p.literals, p.exact, p.states]),
);
console.log(
  `\nmachine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores; rules compiled in ${compileMs.toFixed(0)} ms`,
);
console.log(
  JSON.stringify({
    bench: 'detection',
    events: N,
    rules: loaded,
    decode_us: +decode.us.toFixed(3),
    detect_us: +full.us.toFixed(3),
    detect_events_per_s: Math.round(1e6 / full.us),
    ratio_detect_to_decode: +(full.us / decode.us).toFixed(3),
    no_prefilter_us: +naive.us.toFixed(3),
    flat_us: +flat.us.toFixed(3),
    compile_ms: Math.round(compileMs),
  }),
);
