/**
 * overhead-runner runs the eBPF sensor alone in its own process so a benchmark can measure its
 * CPU and memory from /proc (bench/src/agent-overhead.ts spawns it by path). It counts events in
 * memory and talks JSON lines:
 *   stdout: {"ready":true,"pid":N,"helperPid":N,"capabilities":[...]} once started, then one
 *           report per `report` command.
 *   stdin:  `match TEXT` (count events whose command line or file path contains TEXT),
 *           `report`, `quit`.
 */
import { createInterface } from 'node:readline';
import { type Event, Tier } from '@palisade/protocol';
import { createBpfSensor } from './bpf-sensor.linux.js';

function matches(e: Event, text: string): boolean {
  return (
    (e.process?.cmdLine.includes(text) ?? false) ||
    (e.file?.path.includes(text) ?? false) ||
    (e.fileResult?.path.includes(text) ?? false)
  );
}

async function main(): Promise<void> {
  let match = '\0never';
  let total = 0;
  const matched = new Map<string, number>();
  const sensor = createBpfSensor({
    ignorePids: [process.pid],
    tier: process.argv.includes('--server-tier') ? Tier.SERVER : Tier.WORKSTATION,
  });
  await sensor.start((e) => {
    total++;
    if (matches(e, match)) {
      const k = `${e.classUid}/${e.activityId}`;
      matched.set(k, (matched.get(k) ?? 0) + 1);
    }
  });
  const st = sensor.stats().helper;
  const write = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  write({
    ready: st.state === 'running',
    pid: process.pid,
    helperPid: st.state === 'running' ? st.pid : 0,
    capabilities: sensor.capabilities().map((c) => ({ kind: c.kind, active: c.active, reason: c.reason })),
  });
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, ...rest] = line.split(' ');
    if (cmd === 'match') {
      match = rest.join(' ');
      matched.clear();
    } else if (cmd === 'report') {
      const s = sensor.stats();
      write({
        total,
        matched: Object.fromEntries(matched),
        ringDrops: s.ringDrops,
        counters: sensor.counters(),
      });
    } else if (cmd === 'quit') {
      break;
    }
  }
  await sensor.stop();
}

await main();
