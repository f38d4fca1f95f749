// agent-delivery.bench.ts measures one agent end to end against the real server on loopback:
// sensor -> spool (sealed, fsynced) -> WebSocket -> server (stored in SQLite) -> ack -> spool.
// Not a test; run `node apps/agent/dist/agent-delivery.bench.js [events]`. Ends with a JSON line.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '@palisade/server';
import { startAgent } from './agent.js';
import { TestSensor } from './test-sensor.test-util.js';

const total = Number(process.argv[2] ?? 200_000);
const root = mkdtempSync(join(tmpdir(), 'palisade-delivery-bench-'));
try {
  const srv = await startServer({
    dataDir: join(root, 'srv'),
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
  });
  const sensor = new TestSensor();
  const agent = await startAgent({
    stateDir: join(root, 'agent'),
    serverUrl: srv.registrationUrl,
    registrationKey: readFileSync(join(srv.dataDir, 'registration-key'), 'utf8').trim(),
    caPem: srv.caPem,
    sensors: [sensor],
  });
  while (agent.channel() !== 'primary') await new Promise((r) => setTimeout(r, 20));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Emit in slices so the event loop also runs the transport, as with a real sensor.
  for (let n = 0; n < total; n += 5000) {
    sensor.emit('bench', Math.min(5000, total - n), n);
    await new Promise((r) => setImmediate(r));
  }
  const tEmit = performance.now();
  agent.flush();
  while (agent.spoolStats().unackedEvents > 0 || agent.spoolStats().pendingEvents > 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const tDone = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const stored = await srv.storage.countEvents(agent.agentId);
  await agent.stop();
  await srv.close();
  const eps = Math.round(total / ((tDone - t0) / 1000));
  console.log(`agent delivery bench: ${total} events, one agent, server in the same process (2 cores)`);
  console.log('emitted in ms   all acked in ms   events/s acked   stored   CPU s (agent+server)');
  console.log(
    `${Math.round(tEmit - t0)
      .toString()
      .padStart(13)}   ${Math.round(tDone - t0)
      .toString()
      .padStart(
        15,
      )}   ${String(eps).padStart(14)}   ${String(stored).padStart(6)}   ${((cpu.user + cpu.system) / 1e6).toFixed(2)}`,
  );
  console.log(JSON.stringify({ bench: 'agent-delivery', events: total, events_per_s_acked: eps, stored }));
  if (stored !== total) process.exitCode = 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
