import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress, summary } from './events.js';

const net = (direction_id: number | undefined) => ({
  class_uid: 4001,
  src_endpoint: { ip: '10.0.0.5', port: 51000 },
  dst_endpoint: { ip: '10.0.0.9', port: 22 },
  ...(direction_id ? { connection_info: { protocol_num: 6, direction_id } } : {}),
});

test('a connection shows its direction: local first, -> for one it opened, <- for one it accepted', () => {
  // Outbound (connect): this host is the source.
  assert.equal(summary(net(2)), '10.0.0.5:51000 -> 10.0.0.9:22');
  // Inbound (accept) of the same connection, seen on 10.0.0.9: this host is the destination.
  assert.equal(summary(net(1)), '10.0.0.9:22 <- 10.0.0.5:51000');
  assert.notEqual(summary(net(1)), summary(net(2)), 'an accept and its connect no longer print the same');
  assert.equal(summary(net(undefined)), '10.0.0.5:51000 -> 10.0.0.9:22 ?', 'unknown direction is marked');
});

test('a long --all run reports progress on stderr: not in its first second, then every 5 s (1 s on a terminal)', () => {
  let now = 0;
  const out: string[] = [];
  const p = new Progress(
    (s) => out.push(s),
    false,
    () => now,
  );
  p.update(1000, 1);
  now = 900;
  p.update(2000, 2);
  assert.deepEqual(out, [], 'quiet for a short run');
  now = 1500;
  p.update(3000, 3);
  now = 3000;
  p.update(4000, 4);
  now = 7000;
  p.update(9000, 9);
  p.done(9500, 10);
  assert.deepEqual(out, [
    'palisade: 3000 events in 3 pages so far ...\n',
    'palisade: 9000 events in 9 pages so far ...\n',
    'palisade: 9500 events in 10 pages, 7.0 s\n',
  ]);
  const tty: string[] = [];
  const q = new Progress(
    (s) => tty.push(s),
    true,
    () => now,
  );
  now += 1200;
  q.update(10, 1);
  q.done(10, 1);
  assert.deepEqual(tty, [
    '\rpalisade: 10 events in 1 pages so far ...',
    '\rpalisade: 10 events in 1 pages, 1.2 s\n',
  ]);
  const quiet: string[] = [];
  new Progress(
    (s) => quiet.push(s),
    false,
    () => now,
  ).done(5, 1);
  assert.deepEqual(quiet, []);
});
