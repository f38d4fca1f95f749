import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Spool } from './spool.js';
import { tempDir } from '@palisade/testkit';
import { cmdLines, drain } from './spool-fixtures.test-util.js';

const writer = fileURLToPath(new URL('./spool-writer.fixture.js', import.meta.url));

test('every batch reported durable survives kill -9 of the writing process, in order and exactly once', async (t) => {
  const dir = tempDir('palisade-spool-');
  const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const durable: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('writer produced too few batches in 20 s')), 20_000);
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) durable.push(Number(l));
      if (durable.length >= 200) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await new Promise((r) => child.once('exit', r));
  const spool = Spool.open({ dir });
  t.after(() => spool.close());
  const batches = drain(spool);
  const seqs = batches.map((b) => b.seq);
  // Every batch the writer saw sealed is there; the sequence has no gaps and no repeats.
  assert.ok(
    seqs.length >= durable.length,
    `recovered ${seqs.length} batches, ${durable.length} were durable`,
  );
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => i + 1),
  );
  const lines = cmdLines(batches);
  assert.deepEqual(
    lines,
    Array.from({ length: lines.length }, (_, i) => `/bin/echo event-${i}`),
  );
  assert.equal(lines.length, seqs.length * 100);
});
