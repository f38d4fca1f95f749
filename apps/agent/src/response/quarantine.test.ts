// Quarantine works only on files this test creates in its own temporary directories.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '@palisade/testkit';
import { checkPath, quarantineFile, restoreQuarantined } from './quarantine.js';

const state = tempDir('palisade-quarantine-state-');
const ctx = { dir: join(state, 'quarantine'), protectedPaths: () => [state] };
const shm: string[] = [];
after(() => {
  for (const d of shm) rmSync(d, { recursive: true, force: true });
});

function victim(dir: string, name: string, bytes: Buffer, mode: number): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  chownSync(p, 1234, 2345);
  chmodSync(p, mode);
  utimesSync(p, new Date('2025-03-01T10:00:00Z'), new Date('2025-02-01T09:00:00.250Z'));
  return p;
}

async function roundTrip(dir: string, how: string): Promise<void> {
  const bytes = Buffer.concat([Buffer.from('#!/bin/sh\necho pwned\n'), Buffer.alloc(70_000, 7)]);
  const p = victim(dir, `dropper-${how}`, bytes, 0o4751);
  const before = statSync(p);
  const q = await quarantineFile(p, ctx);
  assert.equal(q.ok, true, q.message);
  assert.equal(existsSync(p), false, 'gone from where it was');
  const f = q.file!;
  assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.equal(f.originalPath, p);
  assert.equal(Number(f.size), bytes.length);
  assert.equal(f.mode, 0o4751);
  assert.equal(f.uid, 1234);
  assert.equal(f.gid, 2345);
  assert.equal(Number(f.mtimeMs), Math.round(before.mtimeMs));
  const content = join(ctx.dir, f.quarantineId, 'content');
  const held = statSync(content);
  assert.equal(held.mode & 0o7777, 0o400, 'kept root-only and not executable');
  assert.equal(held.uid, 0);
  assert.equal(statSync(ctx.dir).mode & 0o777, 0o700);
  assert.deepEqual(
    JSON.parse(readFileSync(join(ctx.dir, f.quarantineId, 'meta.json'), 'utf8')).originalPath,
    p,
  );

  const r = await restoreQuarantined(f.quarantineId, ctx);
  assert.equal(r.ok, true, r.message);
  const after = statSync(p); // before reading it, which would touch its access time
  assert.deepEqual(readFileSync(p), bytes, 'same bytes');
  assert.equal(after.mode & 0o7777, 0o4751, 'same mode, set-uid bit included');
  assert.equal(after.uid, 1234);
  assert.equal(after.gid, 2345);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.equal(after.atimeMs, before.atimeMs);
  assert.equal(existsSync(join(ctx.dir, f.quarantineId)), false, 'the entry is gone');
}

test('quarantine and restore keep bytes, mode, owner and times (same filesystem: renamed)', async () => {
  await roundTrip(tempDir('palisade-victims-'), 'rename');
});

test('quarantine and restore across filesystems (copied, synced, then unlinked)', async (t) => {
  if (!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(state).dev) {
    t.diagnostic('no second filesystem here (/dev/shm)');
    return;
  }
  const dir = mkdtempSync('/dev/shm/palisade-victims-');
  shm.push(dir);
  await roundTrip(dir, 'copy');
});

test('refused: malformed paths, directories, links, FIFOs, devices, pseudo-files, the agent own files, missing files; nothing changes', async () => {
  const dir = tempDir('palisade-victims-');
  const file = victim(dir, 'keep', Buffer.from('x'), 0o644);
  symlinkSync(file, join(dir, 'link'));
  spawnSync('mkfifo', [join(dir, 'fifo')]);
  mkdirSync(join(dir, 'sub'));
  const own = join(state, 'agent.key');
  writeFileSync(own, 'secret');
  symlinkSync(state, join(dir, 'state-link'));
  const cases: [string, string][] = [
    ['relative/path', 'bad_request'],
    [`${dir}/../${dir.split('/').pop()}/keep`, 'bad_request'],
    [`${dir}//keep`, 'bad_request'],
    [`${dir}/keep/`, 'bad_request'],
    [`${dir}/./keep`, 'bad_request'],
    ['/', 'bad_request'],
    [`${dir}/ke\0ep`, 'bad_request'],
    ['/proc/self/status', 'bad_request'],
    ['/dev/null', 'bad_request'],
    [join(dir, 'sub'), 'not_a_file'],
    [join(dir, 'link'), 'not_a_file'],
    [join(dir, 'fifo'), 'not_a_file'],
    [own, 'protected'],
    [join(dir, 'state-link', 'agent.key'), 'protected'],
    [join(dir, 'missing'), 'not_found'],
  ];
  for (const [p, code] of cases) {
    const r = await quarantineFile(p, ctx);
    assert.equal(r.ok, false, p);
    assert.equal(r.code, code, `${p}: ${r.message}`);
  }
  assert.equal(readFileSync(file, 'utf8'), 'x');
  assert.equal(readFileSync(own, 'utf8'), 'secret');
  assert.equal(checkPath('/tmp/ok'), undefined);
});

test('restore never overwrites, and refuses unknown ids and tampered content', async () => {
  const dir = tempDir('palisade-victims-');
  const p = victim(dir, 'twice', Buffer.from('original'), 0o600);
  const q = await quarantineFile(p, ctx);
  assert.equal(q.ok, true);
  writeFileSync(p, 'newer file at the same path');
  const clash = await restoreQuarantined(q.file!.quarantineId, ctx);
  assert.equal(clash.code, 'exists');
  assert.equal(readFileSync(p, 'utf8'), 'newer file at the same path', 'not overwritten');
  rmSync(p);
  const content = join(ctx.dir, q.file!.quarantineId, 'content');
  chmodSync(content, 0o600);
  writeFileSync(content, 'tampered');
  assert.equal((await restoreQuarantined(q.file!.quarantineId, ctx)).code, 'corrupt');
  assert.equal(existsSync(p), false);
  assert.equal((await restoreQuarantined('../../etc/passwd', ctx)).code, 'bad_request');
  assert.equal((await restoreQuarantined('00000000-0000-4000-8000-000000000000', ctx)).code, 'not_found');
});
