import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import type { StoredEvent } from '@palisade/storage';
import { spawnLoad, tinyExitOf } from './spawn-load.js';

const CORES = cpus().length;
/** TINY_LOAD names the exec load of the static do-nothing program. */
export const TINY_LOAD = 'exec 1000/s, static 9 KB program';

/** isExecOf keeps the launches of `name` (the spawner's own exec also carries the marker). */
const isExecOf = (name: string) => (e: StoredEvent) =>
  e.event.classUid === 1007 && e.event.activityId === 1 && (e.event.process?.path ?? '').endsWith(`/${name}`);
/** isExec keeps the launches of /bin/true. */
export const isExec = isExecOf('true');
/** isFileCreate keeps file creations (open for write that created the file). */
export const isFileCreate = (e: StoredEvent) => e.event.classUid === 1001 && e.event.activityId === 1;
/** isNet keeps network activity: connect, accept and close, both ends of each connection. */
export const isNet = (e: StoredEvent) => e.event.classUid === 4001;

/** TCP_LOAD is a Node script: N loopback connections, one after another, each sending a byte. */
export const TCP_LOAD = `
const net = require('node:net');
const n = Number(process.argv[1]);
const s = net.createServer((c) => c.on('data', () => c.end()));
s.listen(0, '127.0.0.1', async () => {
  for (let i = 0; i < n; i++) {
    await new Promise((res) => { const c = net.connect(s.address().port, '127.0.0.1', () => c.write('x')); c.on('close', res); c.on('error', res); });
  }
  s.close();
});`;

/** Load is one workload: how many marker events to expect and how to drive it. */
export interface Load {
  name: string;
  expected: number;
  keep: (e: StoredEvent) => boolean;
  execs: boolean;
  /** The program an exec load runs (auditd's log names it). */
  program?: string;
  drive: (marker: string) => Promise<{ rate: number }>;
}

/**
 * loads lists the workloads: /bin/true at 100/s, 1000/s and as fast as it goes, a static 9 KB
 * program at 1000/s (this VM cannot exec /bin/true that fast: loading libc dominates), then (unless
 * `execOnly`) 5,000 file creations and 500 loopback TCP connections. Each run marks its work with
 * a fresh marker (argv or path) so what it made can be told apart from the host's own events.
 */
export function loads(spawner: string, scratch: string, execOnly: boolean): Load[] {
  const exec = (
    name: string,
    rate: number,
    count: number,
    program = '/bin/true',
    workers = rate === 0 || rate > 200 ? CORES : 1,
  ): Load => ({
    name,
    expected: count,
    keep: isExecOf(basename(program)),
    execs: true,
    program,
    drive: (m) => spawnLoad(spawner, rate, count, [program, m], workers),
  });
  const list = [
    exec('exec 100/s', 100, 600),
    exec('exec 1000/s', 1000, 5000),
    exec('exec max', 0, 4000),
    // Two spawners per core: each waits for its child's exec, so more of them overlap better.
    exec(TINY_LOAD, 1000, 5000, tinyExitOf(spawner), 2 * CORES),
  ];
  if (execOnly) return list;
  list.push({
    name: 'file creates',
    expected: 5000,
    keep: isFileCreate,
    execs: false,
    drive: async (m) => {
      const dir = join(scratch, m);
      mkdirSync(dir);
      const t0 = performance.now();
      for (let i = 0; i < 5000; i++) writeFileSync(join(dir, `f${i}`), 'x');
      return { rate: 5000 / ((performance.now() - t0) / 1000) };
    },
  });
  list.push({
    name: 'tcp connects (x4 events)',
    expected: 2000,
    keep: isNet,
    execs: false,
    drive: (m) =>
      new Promise((res) => {
        const t0 = performance.now();
        spawn(process.execPath, ['-e', TCP_LOAD, '500', m], { stdio: 'ignore' }).on('exit', () =>
          res({ rate: 500 / ((performance.now() - t0) / 1000) }),
        );
      }),
  });
  return list;
}
