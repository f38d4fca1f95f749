// bench:journal — what reading the systemd journal costs the endpoint, side by side in one run:
// the agent's palisade-journal (libsystemd) against journalctl, both following the same private
// systemd-journald (a mount namespace of its own, as in the auth tests) with the auth sensor's
// arguments, while bursts of sshd-like auth lines are logged. Needs root and the systemd package.
// Prints a table; the last line is one JSON object with the headline figures.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JOURNAL_FIELDS } from '@palisade/agent';
import { startJournalNamespace } from '@palisade/testkit';
import { cpuSeconds, rssMb } from './proc-stats.js';
import { printTable, progress } from './table.js';
import { sleep } from '@palisade/testkit';

const PALISADE_JOURNAL = fileURLToPath(
  new URL('../../apps/agent/journal-reader/build/palisade-journal', import.meta.url),
);
const READERS = [
  { name: 'palisade-journal', path: PALISADE_JOURNAL },
  { name: 'journalctl', path: '/usr/bin/journalctl' },
];
/** journald's default rate limit is 10,000 messages per 30 s per sender: stay under it. */
const BURSTS = 4;
const PER_BURST = 2000;
const IDLE_MS = 5000;

interface Follower {
  name: string;
  child: ChildProcess;
  entries: number;
  malformed: number;
}

function follow(name: string, path: string, journalDir: string): Follower {
  const args = [
    '--output=json',
    `--output-fields=${JOURNAL_FIELDS.join(',')}`,
    '--all',
    '--follow',
    '--no-pager',
    '--quiet',
    `--directory=${journalDir}`,
  ];
  const child = spawn(path, [...args, '--lines=0', 'SYSLOG_FACILITY=4', 'SYSLOG_FACILITY=10'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const f: Follower = { name, child, entries: 0, malformed: 0 };
  let rest = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (rest + String(d)).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) {
      try {
        if (typeof JSON.parse(l).__CURSOR === 'string') f.entries++;
        else f.malformed++;
      } catch {
        f.malformed++;
      }
    }
  });
  return f;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error('bench:journal needs root (it starts systemd-journald in a namespace)');
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-journal-'));
  const ns = await startJournalNamespace(dir);
  const followers: Follower[] = [];
  try {
    for (const r of READERS) followers.push(follow(r.name, r.path, ns.journalDir));
    await sleep(1000);
    progress(`idle for ${IDLE_MS / 1000} s`);
    const cpu0 = followers.map((f) => cpuSeconds(f.child.pid!));
    await sleep(IDLE_MS);
    const idle = followers.map((f, i) => ({
      rss: rssMb(f.child.pid!).rss,
      cpuPct: ((cpuSeconds(f.child.pid!) - cpu0[i]!) / (IDLE_MS / 1000)) * 100,
    }));
    const lines = join(dir, 'lines.txt');
    const socket = join(dir, 'run-systemd', 'journal', 'dev-log');
    const cpu1 = followers.map((f) => cpuSeconds(f.child.pid!));
    for (let b = 0; b < BURSTS; b++) {
      progress(`burst ${b + 1}/${BURSTS}: ${PER_BURST} auth lines`);
      const text = Array.from(
        { length: PER_BURST },
        (_, i) => `Failed password for invalid user u${b}x${i} from 192.0.2.${i % 250} port ${1024 + i} ssh2`,
      ).join('\n');
      writeFileSync(lines, `${text}\n`);
      const r = spawnSync('logger', ['-u', socket, '-p', 'auth.info', '-t', 'sshd', '-f', lines]);
      if (r.status !== 0) throw new Error(`logger failed: ${r.stderr}`);
      await sleep(500);
    }
    const expected = BURSTS * PER_BURST;
    const deadline = Date.now() + 20_000;
    while (followers.some((f) => f.entries < expected) && Date.now() < deadline) await sleep(100);
    await sleep(500);
    // What journald itself stored (it may rate-limit a sender): the readers are judged against it.
    const stored = spawnSync(
      'journalctl',
      [`--directory=${ns.journalDir}`, '--output=cat', '--no-pager', '--quiet', 'SYSLOG_IDENTIFIER=sshd'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    )
      .stdout.split('\n')
      .filter((l) => l.startsWith('Failed password for invalid user u')).length;
    const rows = followers.map((f, i) => {
      const cpu = cpuSeconds(f.child.pid!) - cpu1[i]!;
      const mem = rssMb(f.child.pid!);
      return {
        reader: f.name,
        stored,
        read: f.entries,
        lost: stored - f.entries,
        malformed: f.malformed,
        idleRssMb: +idle[i]!.rss.toFixed(1),
        peakRssMb: +mem.peak.toFixed(1),
        idleCpuPct: +idle[i]!.cpuPct.toFixed(2),
        usPerEntry: +((cpu / Math.max(1, f.entries)) * 1e6).toFixed(1),
      };
    });
    printTable(
      `Journal readers following the same journald, ${expected} auth lines in ${BURSTS} bursts (facility auth)`,
      [
        'reader',
        'stored',
        'read',
        'lost',
        'malformed',
        'idle RSS MB',
        'peak RSS MB',
        'idle CPU %',
        'CPU µs/entry',
      ],
      rows.map((r) => [
        r.reader,
        r.stored,
        r.read,
        r.lost,
        r.malformed,
        r.idleRssMb,
        r.peakRssMb,
        r.idleCpuPct,
        r.usPerEntry,
      ]),
    );
    const [ours, jctl] = rows;
    console.log(
      JSON.stringify({
        bench: 'journal',
        entries: stored,
        lost: { palisadeJournal: ours!.lost, journalctl: jctl!.lost },
        peakRssMb: { palisadeJournal: ours!.peakRssMb, journalctl: jctl!.peakRssMb },
        usPerEntry: { palisadeJournal: ours!.usPerEntry, journalctl: jctl!.usPerEntry },
      }),
    );
  } finally {
    for (const f of followers) f.child.kill();
    await ns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(String(err instanceof Error ? err.message : err));
  process.exit(1);
});
