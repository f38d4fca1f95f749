// Test-only: a real Palisade server (startServer, the code `palisade server` runs) started inside a
// lab host, that also takes alerts on stdin, one JSON line each ({"alert": PlaybookAlert}), and
// hands them to the alert hook (server.playbooks.onAlert), as the detection worker does; it prints
// {"ran": ...} per alert. Used by the playbook e2e test until the detection worker lands in the
// server. Arguments: DATA_DIR PUBLIC_HOST FLEET_ISOLATIONS_PER_HOUR.
import { createInterface } from 'node:readline';
import { type PlaybookAlert, startServer } from '@palisade/server';

const [dataDir, publicHost, perHour] = process.argv.slice(2);
const server = await startServer({
  dataDir: dataDir!,
  host: '::',
  publicHost: publicHost!,
  registrationPort: 7443,
  telemetryPort: 7444,
  standbyPort: 7445,
  logLevel: 'info',
  playbookIsolationsPerHour: Number(perHour),
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  void (async () => {
    const { alert } = JSON.parse(line) as { alert: PlaybookAlert };
    const summary = await server.playbooks.onAlert(alert);
    process.stdout.write(
      `${JSON.stringify({ ran: { alertId: alert.id, runs: summary?.runs.map((r) => ({ playbook: r.playbookName, steps: r.steps })) ?? [] } })}\n`,
    );
  })();
});
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
