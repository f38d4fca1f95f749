import { parseArgs } from 'node:util';
import { type AgentStatus, readStatus } from './status-file.js';

/** staleness says why a status is not current ('' when it is). */
export function staleness(s: AgentStatus, now: number): string {
  if (s.state === 'stopped') return `the agent stopped at ${new Date(s.updatedAt).toISOString()}`;
  const age = now - s.updatedAt;
  if (age > 3 * s.intervalMs)
    return `the status is ${Math.round(age / 1000)} s old: the agent (pid ${s.pid}) is not running or is stuck`;
  return '';
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** formatStatus is the table `palisade agent status` prints for people. */
export function formatStatus(s: AgentStatus, now: number): string {
  const stale = staleness(s, now);
  const rows: [string, string][] = [
    ['state', stale ? `${s.state} (STALE: ${stale})` : s.state],
    ['agent id', s.agentId],
    ['pid', String(s.pid)],
    ['uptime', `${Math.round((s.updatedAt - s.startedAt) / 1000)} s`],
    ['connection', s.connection],
    ['tier', s.tier],
    ['policy revision', s.policyRevision],
    [
      'cpu',
      `${s.cpu.percent}% (user ${s.cpu.userSeconds.toFixed(1)} s, system ${s.cpu.systemSeconds.toFixed(1)} s)`,
    ],
    ['rss', mib(s.rssBytes)],
    [
      'spool depth',
      `${s.spool.pendingEvents + s.spool.unackedEvents} events in ${s.spool.unackedBatches} batches`,
    ],
    ['spool bytes', mib(s.spool.bytes)],
    ['oldest unsent', s.spool.oldestUnsentMs ? new Date(s.spool.oldestUnsentMs).toISOString() : '-'],
    ['spool drops', `${s.spool.droppedEvents} events (${s.spool.droppedBatches} batches)`],
    ['corrupt records', String(s.spool.corruptRecords)],
    ['updated', new Date(s.updatedAt).toISOString()],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  lines.push('', 'sensor            events        drops  restarts');
  for (const x of s.sensors)
    lines.push(
      `${x.name.padEnd(16)} ${String(x.eventsEmitted).padStart(7)} ${String(x.drops).padStart(12)} ${String(x.restarts).padStart(9)}`,
    );
  return `${lines.join('\n')}\n`;
}

/**
 * runStatusCommand is `palisade agent status [--state-dir DIR] [--json]`: what the running agent
 * wrote in its status file. Exit code 0 while it is current, 3 when it is stale or the agent
 * stopped (as service managers do for "not running"), 1 when there is no status to read.
 */
export function runStatusCommand(argv: string[], defaultStateDir: string, now = Date.now()): number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { 'state-dir': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  let s: AgentStatus;
  try {
    s = readStatus(values['state-dir'] ?? defaultStateDir);
  } catch (err) {
    process.stderr.write(`palisade agent status: ${(err as Error).message}\n`);
    return 1;
  }
  const stale = staleness(s, now);
  if (values.json) process.stdout.write(`${JSON.stringify({ ...s, stale: stale || null })}\n`);
  else process.stdout.write(formatStatus(s, now));
  return stale ? 3 : 0;
}
