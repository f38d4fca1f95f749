import { type Event, EventSchema, create } from '@palisade/protocol';

const COMMANDS: string[][] = [
  ['/usr/bin/curl', '-fsSL', 'https://deb.debian.org/debian/dists/bookworm/Release'],
  ['/usr/bin/ls', '-la', '/var/log'],
  ['/usr/bin/python3', '/opt/app/worker.py', '--queue', 'jobs'],
  ['/usr/bin/git', 'status', '--porcelain'],
  ['/usr/sbin/sshd', '-D', '-R'],
  ['/bin/sh', '-c', 'tar czf /tmp/backup.tgz /etc'],
  ['/usr/bin/systemctl', 'is-active', 'nginx'],
  ['/usr/bin/id', '-u'],
];

const BOOT_MS = Date.UTC(2026, 0, 1);

/** ProcessEventOptions shape generated events. */
export interface ProcessEventOptions {
  /** Event time, ms. @default a time derived from i */
  timeMs?: number;
  /** Extra argument appended to argv (to make an event findable). */
  marker?: string;
  /** 1 = Launch (default), 2 = Terminate. */
  activityId?: 1 | 2;
}

/**
 * makeProcessEvent builds a realistic OCSF Process Activity event (a launch by default): argv,
 * exe, cwd, pid, ppid, uid, parent, stable process uid. The same `i` gives the same event.
 */
export function makeProcessEvent(i: number, o: ProcessEventOptions = {}): Event {
  const argv = [...(COMMANDS[i % COMMANDS.length] ?? ['/bin/true'])];
  if (o.marker) argv.push(o.marker);
  const pid = 1000 + (i % 60000);
  const ppid = 500 + (i % 97);
  const uid = i % 5 === 0 ? 0 : 1000;
  const timeMs = o.timeMs ?? BOOT_MS + i;
  const path = argv[0] ?? '/bin/true';
  const activityId = o.activityId ?? 1;
  return create(EventSchema, {
    classUid: 1007,
    activityId,
    timeMs: BigInt(timeMs),
    severityId: 1,
    process: {
      pid,
      uid: `p-${pid}-${timeMs}`,
      name: path.slice(path.lastIndexOf('/') + 1),
      path,
      cmdLine: argv.join(' '),
      argv,
      cwd: uid === 0 ? '/root' : '/home/dev',
      createdTimeMs: BigInt(timeMs),
      user: { uid: String(uid), name: uid === 0 ? 'root' : 'dev', gid: uid, euid: uid, egid: uid },
      ppid,
      parent: {
        pid: ppid,
        uid: `p-${ppid}-${BOOT_MS}`,
        name: 'bash',
        path: '/usr/bin/bash',
        cmdLine: '-bash',
      },
    },
    ...(activityId === 2 ? { hasExitCode: true, exitCode: i % 3 === 0 ? 1 : 0 } : {}),
  });
}
