import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '@palisade/common';
import { tempDir } from '@palisade/testkit';
import { serverWithAgent } from '../transport/registered-server.test-util.js';
import { type CollectOptions, collectFile } from './collect-file.js';
import { CollectRefusal } from './open-regular.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('collect-file: uploads a file through the real receiver, resumes after an interrupted run, refuses what is not a regular file', async (t) => {
  const { srv, stateDir, id } = await serverWithAgent(t, 'palisade-collect');
  const work = tempDir('palisade-collect-src-');
  const data = randomBytes(5 * MiB + 777);
  const file = join(work, 'sample.bin');
  writeFileSync(file, data);
  const tls = { ca: srv.caPem, cert: id.certPem, key: id.keyPem };
  const filesUrl = srv.filesUrl.replace('localhost', '127.0.0.1');
  const opts = (commandId: string, path: string, extra: Partial<CollectOptions> = {}): CollectOptions => ({
    commandId,
    path,
    maxBytes: 100 * MiB,
    filesUrl,
    tls,
    stateDir,
    logger: silentLogger,
    retries: 0,
    ...extra,
  });

  // An interrupted run: the receiver goes away after the first chunks (the agent's record stays).
  const cmd = '6f0b3c1e-1111-4222-8333-944455556666';
  const store = srv.files!.store;
  let cut = false;
  const real = store.writeChunk.bind(store);
  store.writeChunk = async (s, off, len, h, body) => {
    if (off >= (2 * 4 * MiB) / 4 && !cut) {
      cut = true;
      throw new Error('simulated receiver failure');
    }
    return real(s, off, len, h, body);
  };
  await assert.rejects(collectFile(opts(cmd, file)));
  assert.ok(readdirSync(join(stateDir, 'uploads')).includes(`${cmd}.json`), 'the upload record is kept');
  store.writeChunk = real;
  const done = await collectFile(opts(cmd, file));
  assert.equal(done.sha256, sha(data));
  assert.ok(done.resumedFrom > 0, `resumed from ${done.resumedFrom}`);
  const blob = join(srv.dataDir, 'files', 'blobs', done.sha256.slice(0, 2), done.sha256);
  assert.equal(sha(readFileSync(blob)), sha(data));
  assert.ok(
    !readdirSync(join(stateDir, 'uploads')).includes(`${cmd}.json`),
    'the record is removed when done',
  );

  // Refusals: each a clear reason, nothing stored.
  const before = readdirSync(join(srv.dataDir, 'files', 'blobs')).length;
  const refused = async (path: string, re: RegExp, extra: Partial<CollectOptions> = {}) => {
    await assert.rejects(
      collectFile(opts('6f0b3c1e-2222-4222-8333-944455556666', path, extra)),
      (e: Error) => {
        assert.ok(e instanceof CollectRefusal, e.message);
        assert.match(e.message, re);
        return true;
      },
    );
  };
  await refused('/dev/zero', /character device; only regular files/);
  await refused(work, /directory; only regular files/);
  const fifo = join(work, 'fifo');
  execFileSync('mkfifo', [fifo]);
  await refused(fifo, /FIFO/);
  await refused(join(work, 'missing'), /no such file/);
  await refused(file, /over the cap of 1000 bytes/, { maxBytes: 1000 });
  symlinkSync(join(work, 'loop-b'), join(work, 'loop-a'));
  symlinkSync(join(work, 'loop-a'), join(work, 'loop-b'));
  await refused(join(work, 'loop-a'), /symbolic link \(or a loop of them\)/);
  symlinkSync(file, join(work, 'link'));
  await refused(join(work, 'link'), /symbolic link/);
  await refused('relative/path', /must be absolute/);
  assert.equal(readdirSync(join(srv.dataDir, 'files', 'blobs')).length, before);
});
