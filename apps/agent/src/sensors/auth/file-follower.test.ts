import assert from 'node:assert/strict';
import { appendFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { silentLogger } from '@palisade/common';
import { FileFollower } from './file-follower.js';
import { FollowStateStore, STATE_FILE_NAME } from './follow-state.js';
import { LineFramer } from './framers.js';
import { sleep, tempDir, waitFor, removeTempDir } from '@palisade/testkit';

describe('FileFollower', () => {
  let tmp: ReturnType<typeof tempDir>;
  let log: string;
  let stateDir: string;
  const running: FileFollower<unknown>[] = [];

  beforeEach(() => {
    tmp = tempDir('palisade-follow-');
    log = join(tmp, 'auth.log');
    stateDir = join(tmp, 'state');
  });
  afterEach(() => {
    for (const f of running.splice(0)) f.stop();
    removeTempDir(tmp);
  });

  function follow(maxLine = 16 * 1024): { lines: string[]; truncated: string[]; f: FileFollower<unknown> } {
    const lines: string[] = [];
    const truncated: string[] = [];
    const f = new FileFollower({
      path: log,
      framer: new LineFramer(maxLine),
      onItems: (items) => {
        for (const i of items) (i.truncated ? truncated : lines).push(i.text);
      },
      store: new FollowStateStore(stateDir),
      pollMs: 50,
      logger: silentLogger,
    });
    f.start();
    running.push(f as FileFollower<unknown>);
    return { lines, truncated, f: f as FileFollower<unknown> };
  }

  it('starts at the end on first run, then delivers appended lines in order', async () => {
    writeFileSync(log, 'old 1\nold 2\n');
    const { lines } = follow();
    await sleep(100);
    appendFileSync(log, 'new 1\nnew 2\n');
    await waitFor('condition', () => lines.length === 2);
    assert.deepEqual(lines, ['new 1', 'new 2']);
  });

  it('holds a partial last line until its newline arrives', async () => {
    writeFileSync(log, '');
    const { lines } = follow();
    appendFileSync(log, 'first half');
    await sleep(200);
    assert.deepEqual(lines, []);
    appendFileSync(log, ' second half\n');
    await waitFor('condition', () => lines.length === 1);
    assert.deepEqual(lines, ['first half second half']);
  });

  it('resumes after a restart without losing or repeating lines (including a partial one)', async () => {
    writeFileSync(log, 'before\n');
    const a = follow();
    appendFileSync(log, 'one\npart');
    await waitFor('condition', () => a.lines.length === 1);
    a.f.stop();
    appendFileSync(log, 'ial\nwhile stopped\n');
    const b = follow();
    await waitFor('condition', () => b.lines.length === 2);
    await sleep(150);
    assert.deepEqual(a.lines, ['one']);
    assert.deepEqual(b.lines, ['partial', 'while stopped']);
  });

  it('follows rename rotation: drains the old file, then reads the new one from its start', async () => {
    writeFileSync(log, '');
    const { lines, f } = follow();
    appendFileSync(log, 'a\n');
    await waitFor('condition', () => lines.length === 1);
    renameSync(log, `${log}.1`);
    // The writer still holds the old file for a moment after the rename.
    appendFileSync(`${log}.1`, 'b\nunterminated');
    writeFileSync(log, 'c\n');
    await waitFor('condition', () => lines.length === 4);
    assert.deepEqual(lines, ['a', 'b', 'unterminated', 'c']);
    assert.equal((f as FileFollower<unknown>).rotations, 1);
  });

  it('finishes the rotated file after a restart when rotation happened while stopped', async () => {
    writeFileSync(log, '');
    const a = follow();
    appendFileSync(log, 'a\n');
    await waitFor('condition', () => a.lines.length === 1);
    a.f.stop();
    appendFileSync(log, 'b\n');
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'c\n');
    const b = follow();
    await waitFor('condition', () => b.lines.length === 2);
    assert.deepEqual(b.lines, ['b', 'c']);
  });

  it('follows copytruncate: a file that shrank is read again from its start', async () => {
    writeFileSync(log, '');
    const { lines, f } = follow();
    appendFileSync(log, 'long line before truncation\n');
    await waitFor('condition', () => lines.length === 1);
    truncateSync(log, 0);
    appendFileSync(log, 'x\n');
    await waitFor('condition', () => lines.length === 2);
    assert.deepEqual(lines, ['long line before truncation', 'x']);
    assert.equal(f.truncations, 1);
  });

  it('bounds long lines: cuts them to the limit and skips the rest of the line', async () => {
    writeFileSync(log, '');
    const { lines, truncated } = follow(1024);
    appendFileSync(log, `${'A'.repeat(100_000)}\nafter\n`);
    await waitFor('condition', () => lines.length === 1);
    assert.deepEqual(lines, ['after']);
    assert.equal(truncated.length, 1);
    assert.equal(truncated[0], 'A'.repeat(1024));
  });

  it('waits for a file that does not exist yet and reads it from its start', async () => {
    const { lines, f } = follow();
    assert.equal(f.status().state, 'waiting');
    await sleep(100);
    writeFileSync(log, 'hello\n');
    await waitFor('condition', () => lines.length === 1);
    assert.deepEqual(lines, ['hello']);
    assert.equal(f.status().state, 'following');
  });

  it('treats a damaged state file as no state (starts at the end)', async () => {
    writeFileSync(log, 'old\n');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, STATE_FILE_NAME), '{not json');
    const { lines } = follow();
    await sleep(100);
    appendFileSync(log, 'new\n');
    await waitFor('condition', () => lines.length === 1);
    assert.deepEqual(lines, ['new']);
  });
});
