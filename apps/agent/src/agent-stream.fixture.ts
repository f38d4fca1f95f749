// A real agent process for the kill -9 and network tests: registers, then streams numbered events
// from a TestSensor (`perTick` every 10 ms, default 200, up to `total`) until it is stopped.
// usage: agent-stream.fixture.js <stateDir> <registrationUrl> <caFile> <key> <marker> <total> [perTick]
import { readFileSync } from 'node:fs';
import { startAgent } from './agent.js';
import { TestSensor } from './test-sensor.test-util.js';

const [stateDir, serverUrl, caFile, registrationKey, marker, totalText, perTickText] = process.argv.slice(2);
if (!stateDir || !serverUrl || !caFile || !registrationKey || !marker || !totalText) {
  throw new Error('usage: agent-stream.fixture.js <stateDir> <url> <caFile> <key> <marker> <total>');
}
const total = Number(totalText);
const perTick = Number(perTickText ?? 200);
const sensor = new TestSensor();
const agent = await startAgent({
  stateDir,
  serverUrl,
  caPem: readFileSync(caFile, 'utf8'),
  registrationKey,
  sensors: [sensor],
  spool: { batchIntervalMs: 50 },
});
process.once('SIGTERM', () => {
  void agent.stop().then(() => process.exit(0));
});
process.stdout.write(`ready ${agent.agentId}\n`);
let n = 0;
const timer = setInterval(() => {
  const k = Math.min(perTick, total - n);
  sensor.emit(marker, k, n);
  n += k;
  if (n >= total) clearInterval(timer);
}, 10);
