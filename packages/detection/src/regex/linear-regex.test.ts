import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LinearRegex } from './linear-regex.js';

const F = { i: false, m: false, s: false };

// A hang guard, not a speed assertion: a backtracking engine never finishes these.
test('patterns that make a backtracking engine hang finish on long adversarial input', {
  timeout: 20_000,
}, () => {
  const cases: [string, string][] = [
    ['^(a+)+$', `${'a'.repeat(100_000)}b`],
    ['(a|aa)*c', 'a'.repeat(100_000)],
    ['(.*a){20}', 'a'.repeat(5_000)],
    ['^(\\w+\\s?)*$', `${'word '.repeat(20_000)}!`],
    ['(x+x+)+y', 'x'.repeat(100_000)],
    ['.*.*.*.*.*=.*', 'a'.repeat(50_000)],
  ];
  for (const [p, s] of cases) {
    const re = new LinearRegex(p, F);
    re.test(s);
  }
  assert.equal(new LinearRegex('^(a+)+$', F).test(`${'a'.repeat(100_000)}b`), false);
  assert.equal(new LinearRegex('^(a+)+$', F).test('a'.repeat(100_000)), true);
  assert.equal(new LinearRegex('(.*a){20}', F).test('a'.repeat(5_000)), true);
});

// Differential test: on patterns where PCRE and JavaScript agree, the linear engine must agree
// with V8's RegExp on every input.
test('LinearRegex agrees with RegExp on generated patterns and inputs', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const atoms = [
    'a',
    'b',
    'A',
    '.',
    '[ab]',
    '[^a]',
    '\\d',
    '\\w',
    '\\s',
    '(a|b)',
    '(?:ab)',
    'x',
    '-',
    '\\.',
    '[a-c]',
  ];
  const quant = ['', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?'];
  const gen = (depth: number): string => {
    let out = '';
    const n = 1 + rnd(4);
    for (let i = 0; i < n; i++) {
      const a =
        depth > 0 && rnd(4) === 0
          ? `(${gen(depth - 1)}${rnd(3) === 0 ? `|${gen(depth - 1)}` : ''})`
          : atoms[rnd(atoms.length)]!;
      out += a + quant[rnd(quant.length)]!;
    }
    return out;
  };
  const alphabet = 'abAB1 .x-\n_';
  let checked = 0;
  for (let k = 0; k < 400; k++) {
    const body = gen(2);
    const pat = (rnd(4) === 0 ? '^' : '') + body + (rnd(4) === 0 ? '$' : '');
    const flags = { i: rnd(3) === 0, m: rnd(3) === 0, s: rnd(3) === 0 };
    const js = new RegExp(pat, `${flags.i ? 'i' : ''}${flags.m ? 'm' : ''}${flags.s ? 's' : ''}`);
    const mine = new LinearRegex(pat, flags);
    for (let t = 0; t < 30; t++) {
      let s = '';
      const len = rnd(12);
      for (let j = 0; j < len; j++) s += alphabet[rnd(alphabet.length)];
      assert.equal(mine.test(s), js.test(s), `/${pat}/${JSON.stringify(flags)} on ${JSON.stringify(s)}`);
      checked++;
    }
  }
  assert.equal(checked, 12000);
});

test('refused regex features are errors naming them', () => {
  for (const [p, msg] of [
    ['(a)\\1', /backreferences/],
    ['(?=a)', /lookaround/],
    ['(?<!a)b', /lookaround/],
    ['a++', /possessive/],
    ['(?>a)', /atomic/],
    ['a(?i)b', /only at the start/],
    ['\\p{L}', /unsupported escape/],
    ['(a', /missing \)/],
    ['a{5,2}', /m < n/],
    ['a{2000}', /above 1000/],
  ] as [string, RegExp][]) {
    assert.throws(() => new LinearRegex(p, F), msg, p);
  }
});

test('huge expansions are refused, and a very large DFA flushes its cache instead of growing', () => {
  assert.throws(() => new LinearRegex('(a{1000}){1000}', F), /too large/);
  // (a|b)*a(a|b){12}c needs 2^13 DFA states: more than the cache holds.
  const re = new LinearRegex('(a|b)*a(a|b){12}c', F, { maxDfaStates: 500 });
  let s = '';
  let seed = 7;
  for (let i = 0; i < 20000; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    s += (seed >> 16) & 1 ? 'a' : 'b';
  }
  const js = /(a|b)*a(a|b){12}c/;
  assert.equal(re.test(s), js.test(s));
  assert.ok(re.flushes > 0, 'the cache was flushed');
});

test('flags, anchors and classes', () => {
  assert.ok(new LinearRegex('abc', { ...F, i: true }).test('xABCx'));
  assert.ok(!new LinearRegex('abc', F).test('xABCx'));
  assert.ok(new LinearRegex('^b$', { ...F, m: true }).test('a\nb\nc'));
  assert.ok(!new LinearRegex('^b$', F).test('a\nb\nc'));
  assert.ok(new LinearRegex('a.c', { ...F, s: true }).test('a\nc'));
  assert.ok(!new LinearRegex('a.c', F).test('a\nc'));
  assert.ok(new LinearRegex('(?i)ABC', F).test('abc'));
  assert.ok(new LinearRegex('\\bcat\\b', F).test('a cat sat'));
  assert.ok(!new LinearRegex('\\bcat\\b', F).test('concatenate'));
  assert.ok(new LinearRegex('[[:digit:]]{3}', F).test('ab123'));
  assert.ok(new LinearRegex('(?P<x>ab)+', F).test('abab'));
  assert.ok(new LinearRegex('x{', F).test('x{'));
});
