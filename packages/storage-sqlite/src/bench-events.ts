import { create, type Event, EventSchema, OcsfClass } from '@palisade/protocol';

const BINARIES = [
  ['/usr/bin/bash', '-c'],
  ['/usr/bin/python3', '/opt/app/worker.py', '--queue'],
  ['/usr/bin/curl', '-fsSL', 'https://updates.example.com/v2/manifest.json', '-o'],
  ['/usr/bin/git', 'fetch', '--prune', 'origin'],
  ['/usr/sbin/cron', '-f'],
  ['/usr/bin/node', '/srv/api/dist/main.js', '--port'],
  ['/usr/bin/ls', '-la'],
  ['/usr/bin/grep', '-rn', 'TODO'],
] as const;

/**
 * benchProcessEvent builds a realistic, varied process launch event (the bulk of EDR telemetry):
 * full argv and command line, cwd, user, parent, cgroup. `i` picks the variation deterministically.
 */
export function benchProcessEvent(i: number, baseMs: number): Event {
  const bin = BINARIES[i % BINARIES.length]!;
  const argv = [...bin, `/var/lib/app/job-${i % 977}/data-${(i * 7919) % 100_003}.json`];
  const cmdLine = argv.join(' ');
  return create(EventSchema, {
    classUid: OcsfClass.ProcessActivity,
    activityId: i % 10 === 9 ? 2 : 1,
    timeMs: BigInt(baseMs + i),
    severityId: 1,
    process: {
      pid: 10_000 + (i % 50_000),
      uid: `${(i * 2654435761) >>> 0}-${i}`,
      name: argv[0]!.slice(argv[0]!.lastIndexOf('/') + 1),
      path: argv[0]!,
      cmdLine,
      argv,
      cwd: `/home/user${i % 13}/src`,
      createdTimeMs: BigInt(baseMs + i),
      user: { uid: String(1000 + (i % 13)), name: `user${i % 13}`, gid: 1000, euid: 1000, egid: 1000 },
      parent: {
        pid: 9000 + (i % 300),
        uid: `parent-${i % 300}`,
        name: 'bash',
        path: '/usr/bin/bash',
        cmdLine: '-bash',
      },
      ppid: 9000 + (i % 300),
      cgroupId: 4026531835n + BigInt(i % 40),
      sessionId: 3 + (i % 5),
      tty: 'pts/1',
    },
  });
}
