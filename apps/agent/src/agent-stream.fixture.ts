// A real agent process for the kill -9 test: registers, then streams numbered events from a
// TestSensor (200 every 10 ms, up to argv[6] in total) until it is killed.
// usage: agent-stream.fixture.js <stateDir> <registrationUrl> <caFile> <key> <marker> <total>
import { readFileSync } from 'node:fs';
import { startAgent } from './agent.js';
import { TestSensor } from './test-sensor.test-util.js';

const [stateDir, serverUrl, caFile, registrationKey, marker, totalText] = process.argv.slice(2);
if (!stateDir || !serverUrl || !caFile || !registrationKey || !marker || !totalText) {
  throw new Error('usage: agent-stream.fixture.js <stateDir> <url> <caFile> <key> <marker> <total>');
}
const total = Number(totalText);
const sensor = new TestSensor();
const agent = await startAgent({
  stateDir,
  serverUrl,
  caPem: readFileSync(caFile, 'utf8'),
  registrationKey,
  sensors: [sensor],
  spool: { batchIntervalMs: 50 },
});
process.stdout.write(`ready ${agent.agentId}\n`);
let n = 0;
const timer = setInterval(() => {
  const k = Math.min(200, total - n);
  sensor.emit(marker, k, n);
  n += k;
  if (n >= total) clearInterval(timer);
}, 10);
