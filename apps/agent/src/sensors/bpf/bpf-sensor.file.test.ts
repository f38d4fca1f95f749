// These tests load real eBPF programs: they need root (CI runs as root).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Event } from '@palisade/protocol';
import { type Collected, marker, run, sleep, startSensor } from './test-support.test-util.js';

const fileEvent = (activity: number, path: string) => (e: Event) =>
  e.classUid === 1001 && e.activityId === activity && e.file?.path === path;

describe('eBPF sensor: file modifications (root, real kernel)', () => {
  let c: Collected;
  let dir: string;
  let ignoredDir: string;
  let early: ChildProcess;
  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'palisade-bpf-file-')));
    ignoredDir = join(dir, 'state');
    mkdirSync(ignoredDir);
    // A shell that starts before the sensor and writes a file only when told to.
    early = spawn('/bin/sh', ['-c', 'read f; echo x > "$f"'], { stdio: ['pipe', 'ignore', 'ignore'] });
    await sleep(50);
    c = await startSensor({ ignorePathPrefixes: [ignoredDir] });
  });
  after(async () => {
    early.kill('SIGKILL');
    await c.sensor.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a process that started before the sensor is described from /proc with the same unique id', async () => {
    const stat = readFileSync(`/proc/${early.pid}/stat`, 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const target = join(dir, `${marker()}.txt`);
    early.stdin!.end(`${target}\n`);
    const ev = await c.waitFor(fileEvent(1, target), 'create by the early shell');
    const p = ev.process!;
    assert.equal(p.pid, early.pid);
    assert.equal(p.path, realpathSync('/bin/sh'));
    assert.equal(p.cmdLine, `/bin/sh -c 'read f; echo x > "$f"'`);
    assert.equal(p.ppid, process.pid);
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const want = createHash('sha256')
      .update(`${bootId}:${early.pid}:${startTicks}`)
      .digest('hex')
      .slice(0, 32);
    assert.equal(p.uid, want, 'unique id from boot id, pid and /proc start time');
  });

  test('create, update, rename and delete with absolute paths and the acting pid', async () => {
    const a = join(dir, `${marker()}.txt`);
    const b = join(dir, `${marker()}.txt`);
    const r = await run('/bin/sh', [
      '-c',
      'echo one > "$1"; echo two >> "$1"; mv "$1" "$2"; rm "$2"',
      'sh',
      a,
      b,
    ]);
    assert.equal(r.code, 0);

    const created = await c.waitFor(fileEvent(1, a), 'create');
    assert.equal(created.process?.pid, r.pid, 'the shell opened the file');
    assert.equal(created.file?.name, a.slice(dir.length + 1));
    const updated = await c.waitFor(fileEvent(3, a), 'update (open for append of an existing file)');
    assert.equal(updated.process?.pid, r.pid);

    const renamed = await c.waitFor(fileEvent(5, a), 'rename');
    assert.equal(renamed.fileResult?.path, b);
    assert.equal(renamed.process?.name, 'mv');
    assert.equal(renamed.process?.ppid, r.pid);

    const deleted = await c.waitFor(fileEvent(4, b), 'delete');
    assert.equal(deleted.process?.name, 'rm');
    assert.ok(deleted.process?.uid, 'the acting process has its unique id');
    assert.equal(deleted.process?.parent?.pid, r.pid, 'and its parent');
  });

  test('relative paths are resolved against the cwd and against a directory fd', async () => {
    const sub = join(dir, marker('sub'));
    mkdirSync(sub);
    const name = `${marker()}.txt`;
    const r = await run(
      '/bin/sh',
      ['-c', 'echo x > "$1"; mv "$1" "../$1.moved"; rm "../$1.moved"', 'sh', name],
      {
        cwd: sub,
      },
    );
    assert.equal(r.code, 0);
    await c.waitFor(fileEvent(1, join(sub, name)), 'create via a relative path');
    const renamed = await c.waitFor(fileEvent(5, join(sub, name)), 'rename via relative paths');
    assert.equal(renamed.fileResult?.path, join(dir, `${name}.moved`));
    await c.waitFor(fileEvent(4, join(dir, `${name}.moved`)), 'delete via ../');

    // rm -r removes a tree with unlinkat(dirfd, name): the path comes from the directory fd.
    const tree = join(dir, marker('tree'));
    mkdirSync(join(tree, 'inner'), { recursive: true });
    await run('/bin/sh', ['-c', 'echo x > "$1/inner/leaf.txt"', 'sh', tree]);
    const rm = await run('/bin/rm', ['-r', tree], { cwd: '/' });
    assert.equal(rm.code, 0);
    const leaf = await c.waitFor(fileEvent(4, join(tree, 'inner', 'leaf.txt')), 'unlinkat with a dir fd');
    assert.equal(leaf.process?.pid, rm.pid);
    const inner = await c.waitFor(fileEvent(4, join(tree, 'inner')), 'rmdir via unlinkat');
    assert.equal(inner.file?.typeId, 2, 'a removed directory has the folder type');
  });

  test('reads are not reported; ignored prefixes and /dev are dropped', async () => {
    const readOnly = join(dir, `${marker()}.txt`);
    const ignored = join(ignoredDir, `${marker()}.txt`);
    const control = join(dir, `${marker()}.txt`);
    await run('/bin/sh', ['-c', 'echo x > "$1"', 'sh', readOnly]);
    await c.waitFor(fileEvent(1, readOnly), 'create of the file to read');
    const before = c.events.length;
    await run('/bin/cat', [readOnly]);
    await run('/bin/sh', ['-c', 'echo x > "$1"; echo y > /dev/null; echo z > "$2"', 'sh', ignored, control]);
    await c.waitFor(fileEvent(1, control), 'the control create');
    await sleep(200);
    const later = c.events.slice(before).filter((e) => e.classUid === 1001);
    assert.equal(
      later.some((e) => e.file?.path === readOnly),
      false,
      'a read-only open was reported',
    );
    assert.equal(
      later.some((e) => e.file?.path === ignored),
      false,
      'a path under an ignored prefix was reported',
    );
    assert.equal(
      later.some((e) => e.file?.path.startsWith('/dev/')),
      false,
      '/dev/null was reported',
    );
  });
});
