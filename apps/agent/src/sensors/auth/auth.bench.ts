// auth.bench measures the auth sensor's cost (not a test): parser throughput, and the whole
// sensor following a file while 100,000 real-looking lines are appended in bursts.
// Run: node apps/agent/dist/sensors/auth/auth.bench.js. The last line is one JSON object.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthSensor } from './auth-sensor.js';
import { parseAuthLine } from './parse-auth-line.js';
import { tempDir, waitFor, removeTempDir } from '@palisade/testkit';

const LINES = [
  '2026-11-26T12:25:24.988082+00:00 vm sshd[8127]: Failed password for invalid user admin from 203.0.113.5 port 56202 ssh2',
  '2026-11-26T12:25:22.942199+00:00 vm sshd[8127]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root',
  '2026-11-26T12:25:25.422304+00:00 vm sshd[8147]: Accepted publickey for alice from 192.0.2.4 port 53324 ssh2: ED25519 SHA256:abc',
  '2026-11-26T12:25:17.391239+00:00 vm sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u',
  'Nov 26 12:25:11 vm su[7967]: (to root) alice on pts/0',
  '2026-11-26T12:25:25.449243+00:00 vm sshd[8147]: pam_env(sshd:session): deprecated reading of user environment enabled',
  '2026-11-26T12:25:29.489216+00:00 vm sshd[8168]: Disconnected from user paltesta 127.0.0.1 port 53336',
  '2026-11-26T12:26:01.000001+00:00 vm CRON[9]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)',
];

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  const tmp = tempDir('palisade-auth.bench-');
  const log = join(tmp, 'auth.log');
  writeFileSync(log, '');
  const sensor = createAuthSensor({
    stateDir: join(tmp, 'state'),
    logPaths: [log],
    wtmpPath: null,
    btmpPath: null,
  });
  let events = 0;
  await sensor.start(() => {
    events++;
  });
  // Idle: nothing is written; only the 5 s safety poll and the directory watch run.
  const idleCpu0 = cpuMs();
  await new Promise((r) => setTimeout(r, 10_000));
  const idleCpuPct = ((cpuMs() - idleCpu0) / 10_000) * 100;
  const now = Date.now();
  const n = 400_000;
  let t0 = performance.now();
  let recognised = 0;
  for (let i = 0; i < n; i++) if (parseAuthLine(LINES[i % LINES.length]!, now)) recognised++;
  const parsePerSec = Math.round(n / ((performance.now() - t0) / 1000));

  const total = 100_000;
  const burst = 1000;
  const expected = Math.round((total * 5) / LINES.length);
  const rss0 = process.memoryUsage().rss;
  let peakRss = rss0;
  const cpu0 = cpuMs();
  t0 = performance.now();
  for (let i = 0; i < total; i += burst) {
    const chunk: string[] = [];
    for (let j = 0; j < burst; j++) chunk.push(LINES[(i + j) % LINES.length]!);
    appendFileSync(log, `${chunk.join('\n')}\n`);
    await new Promise((r) => setTimeout(r, 1));
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  await waitFor('all events', () => events >= expected, 60_000);
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuMs() - cpu0;
  await sensor.stop();
  removeTempDir(tmp);
  const rows = [
    ['parser lines/s (single thread)', parsePerSec.toLocaleString('en')],
    ['sensor lines followed', total.toLocaleString('en')],
    ['events (expected / got)', `${expected} / ${events}`],
    ['wall time s (incl. writer)', secs.toFixed(2)],
    ['CPU µs per line (writer+sensor)', ((cpu * 1000) / total).toFixed(1)],
    ['peak RSS MB (bench process)', (peakRss / 1e6).toFixed(1)],
    ['idle CPU % of a core', idleCpuPct.toFixed(3)],
  ];
  for (const [k, v] of rows) console.log(`${k!.padEnd(34)} ${v}`);
  console.log(
    JSON.stringify({
      parseLinesPerSec: parsePerSec,
      recognisedShare: recognised / n,
      lines: total,
      expectedEvents: expected,
      events,
      cpuUsPerLine: Number(((cpu * 1000) / total).toFixed(1)),
      peakRssMb: Number((peakRss / 1e6).toFixed(1)),
      idleCpuPct: Number(idleCpuPct.toFixed(3)),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
