import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeTempDir, tempDir, waitFor } from '@palisade/testkit';
import { type ExeIdentity, HashState } from './exe-hash.js';
import { ExeHasher } from './exe-hasher.linux.js';

function identity(path: string): ExeIdentity {
  const st = statSync(path, { bigint: true });
  const major = Number(st.dev >> 8n) & 0xfff;
  const minor = Number((st.dev & 0xffn) | ((st.dev >> 12n) & 0xfff00n));
  return {
    ino: Number(st.ino),
    size: Number(st.size),
    mtimeSec: Number(st.mtimeNs / 1_000_000_000n),
    mtimeNsec: Number(st.mtimeNs % 1_000_000_000n),
    dev: major * 2 ** 20 + minor,
  };
}

describe('ExeHasher', () => {
  const dir = tempDir('palisade-hasher-');
  after(() => removeTempDir(dir));
  const file = (name: string, bytes: number) => {
    const p = join(dir, name);
    writeFileSync(p, Buffer.alloc(bytes, name));
    return p;
  };
  const sha = (p: string, bytes: number) =>
    createHash('sha256')
      .update(Buffer.alloc(bytes, p.slice(p.lastIndexOf('/') + 1)))
      .digest('hex');

  it('hashes once per identity and answers later execs from its cache', () => {
    const h = new ExeHasher();
    const p = file('a', 1000);
    const first = h.hash(999_999_999, p, identity(p));
    assert.deepEqual(first, { sha256: sha(p, 1000), state: HashState.Done });
    assert.deepEqual(h.hash(999_999_999, p, identity(p)), first);
    assert.equal(h.counts.files, 1);
    assert.equal(h.counts.hits, 1);
  });

  it('skips a file that is not the one the kernel ran (changed since)', () => {
    const h = new ExeHasher();
    const p = file('b', 100);
    const id = identity(p);
    writeFileSync(p, Buffer.alloc(200, 'b'));
    assert.equal(h.hash(999_999_999, p, id).state, HashState.Skipped);
    assert.equal(h.counts.bytes, 0);
  });

  it('defers what the byte budget cannot take now and hashes it when the budget refills', async () => {
    const h = new ExeHasher({ bytesPerSecond: 1500 });
    const p1 = file('c', 1000);
    const p2 = file('d', 1000);
    assert.equal(h.hash(999_999_999, p1, identity(p1)).state, HashState.Done);
    assert.equal(h.hash(999_999_999, p2, identity(p2)).state, HashState.Pending);
    assert.equal(h.hash(999_999_999, p2, identity(p2)).state, HashState.Pending);
    await waitFor('the deferred hash', () =>
      h.hash(999_999_999, p2, identity(p2)).state === HashState.Done ? true : undefined,
    );
    assert.equal(h.hash(999_999_999, p2, identity(p2)).sha256, sha(p2, 1000));
    assert.equal(h.counts.deferred, 1);
    h.close();
  });

  it('skips files over the size cap and beyond the pending limit', () => {
    const h = new ExeHasher({ bytesPerSecond: 10, maxFileBytes: 500, maxPending: 1 });
    const big = file('e', 600);
    assert.equal(h.hash(999_999_999, big, identity(big)).state, HashState.Skipped);
    const p1 = file('f', 100);
    const p2 = file('g', 100);
    assert.equal(h.hash(999_999_999, p1, identity(p1)).state, HashState.Pending);
    assert.equal(h.hash(999_999_999, p2, identity(p2)).state, HashState.Skipped);
    h.close();
  });
});
