import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogLimiter, rateLimitedLogger, truncateForLog } from './log-limit.js';
import type { Logger } from './logger.js';
import { TokenBuckets } from './token-buckets.js';

test('TokenBuckets: a burst, then the rate; Retry-After is the wait for the next token; keys are bounded', () => {
  let now = 0;
  const b = new TokenBuckets({ burst: 3, perSecond: 0.5, maxKeys: 2, now: () => now });
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a')], [0, 0, 0]);
  assert.equal(b.take('a'), 2000, 'one token every 2 s');
  now += 1500;
  assert.equal(b.take('a'), 500);
  now += 500;
  assert.equal(b.take('a'), 0);
  assert.equal(b.take('b'), 0, 'another key has its own bucket');
  b.take('c');
  assert.equal(b.size, 2, 'the least recently used key was forgotten');
});

test('LogLimiter: lets a burst through, drops the rest, and reports how many it dropped', () => {
  let now = 0;
  const l = new LogLimiter({ burst: 2, perSecond: 1, now: () => now });
  assert.equal(l.take('peer'), 0);
  assert.equal(l.take('peer'), 0);
  for (let i = 0; i < 5; i++) assert.equal(l.take('peer'), undefined);
  assert.equal(l.take('other'), 0, 'keys are limited apart');
  now += 1000;
  assert.equal(l.take('peer'), 5, 'the next line let through carries the count');
  assert.equal(l.take('peer'), undefined);
  now += 1000;
  assert.equal(l.take('peer'), 1);
});

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
  bindings: Record<string, unknown>;
}

function recorder(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '', bindings });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => recorder(lines, { ...bindings, ...b }),
  };
}

test('rateLimitedLogger: each kind of line gets a burst, then the rate; the next line let through says how many were held back', () => {
  const lines: Line[] = [];
  let now = 0;
  const log = rateLimitedLogger(recorder(lines), { burst: 3, perSecond: 1, now: () => now });
  for (let i = 0; i < 50; i++) log.warn({ i, peer: `10.0.0.${i}` }, 'bad frame from peer');
  log.warn({}, 'another kind of line');
  log.error({}, 'bad frame from peer'); // another level is another kind
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.obj.i]),
    [
      ['warn', 'bad frame from peer', 0],
      ['warn', 'bad frame from peer', 1],
      ['warn', 'bad frame from peer', 2],
      ['warn', 'another kind of line', undefined],
      ['error', 'bad frame from peer', undefined],
    ],
  );
  now += 999;
  log.warn({ i: 99 }, 'bad frame from peer');
  assert.equal(lines.length, 5);
  now += 1;
  log.warn({ i: 100 }, 'bad frame from peer');
  assert.equal(lines.length, 6);
  assert.deepEqual(lines[5]!.obj, { i: 100, suppressed: 48 });
  now += 1000;
  log.warn({ i: 101 }, 'bad frame from peer');
  assert.deepEqual(lines[6]!.obj, { i: 101 });
});

test('loggers given one limiter share its budget', () => {
  const lines: Line[] = [];
  const limiter = new LogLimiter({ burst: 2 });
  const a = rateLimitedLogger(recorder(lines, { who: 'a' }), { limiter });
  const b = rateLimitedLogger(recorder(lines, { who: 'b' }), { limiter });
  for (let i = 0; i < 5; i++) {
    a.warn({}, 'refused');
    b.warn({}, 'refused');
  }
  assert.deepEqual(
    lines.map((l) => l.bindings.who),
    ['a', 'b'],
  );
});

test('strings in fields and the message are cut, with what was dropped; nesting, arrays and keys are bounded', () => {
  const lines: Line[] = [];
  const log = rateLimitedLogger(recorder(lines), { maxChars: 8 });
  const deep = { a: { b: { c: { d: 'x' } } } };
  log.info(
    {
      line: 'A'.repeat(1_000_000),
      n: 5,
      ok: true,
      nothing: null,
      big: 12n,
      list: Array.from({ length: 20 }, (_, i) => i),
      bytes: Buffer.alloc(4096),
      err: new Error('a very long error message'),
      deep,
    },
    'm'.repeat(20),
  );
  const [l] = lines;
  assert.equal(l!.msg, 'mmmmmmmm…(+12 chars)');
  assert.equal(l!.obj.line, 'AAAAAAAA…(+999992 chars)');
  assert.equal(l!.obj.n, 5);
  assert.equal(l!.obj.ok, true);
  assert.equal(l!.obj.nothing, null);
  assert.equal(l!.obj.big, '12');
  assert.deepEqual(l!.obj.list, [...Array.from({ length: 16 }, (_, i) => i), '…(+4 items)']);
  assert.equal(l!.obj.bytes, '[4096 bytes]');
  assert.equal(l!.obj.err, 'a very l…(+17 chars)');
  assert.deepEqual(l!.obj.deep, { a: { b: '[…]' } });
  const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
  assert.equal(Object.keys(truncateForLog(many) as object).length, 33);
  assert.equal((truncateForLog(many) as Record<string, unknown>).truncatedKeys, 8);
  // The caller's object is not changed.
  assert.equal(deep.a.b.c.d, 'x');
});

test('children share the budget of their parent and keep their bindings', () => {
  const lines: Line[] = [];
  const log = rateLimitedLogger(recorder(lines), { burst: 2 });
  const a = log.child({ conn: 1 });
  const b = log.child({ conn: 2 });
  a.warn({}, 'refused');
  b.warn({}, 'refused');
  a.warn({}, 'refused');
  b.warn({}, 'refused');
  assert.deepEqual(
    lines.map((l) => l.bindings.conn),
    [1, 2],
  );
});

test('many distinct keys cannot grow memory without bound: the least recently used is forgotten', () => {
  const lines: Line[] = [];
  const log = rateLimitedLogger(recorder(lines), {
    burst: 1,
    maxKeys: 4,
    keyOf: (_level, obj) => String((obj as { peer: string }).peer),
  });
  for (let i = 0; i < 10_000; i++) log.warn({ peer: `p${i}` }, 'x');
  assert.equal(lines.length, 10_000);
  // p9999 is still remembered, so its second line is held back.
  log.warn({ peer: 'p9999' }, 'x');
  assert.equal(lines.length, 10_000);
  // p0 was forgotten long ago: it starts a new budget.
  log.warn({ peer: 'p0' }, 'x');
  assert.equal(lines.length, 10_001);
});
