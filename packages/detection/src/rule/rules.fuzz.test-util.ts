import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type FuzzTarget, fc } from '@palisade/testkit';
import { compileRuleSet } from '../engine/rule-set.js';
import { MODIFIERS } from '../compile/modifiers.js';

const RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));
const PACK = readdirSync(RULES_DIR)
  .filter((n) => n.endsWith('.yml'))
  .map((n) => readFileSync(RULES_DIR + n, 'utf8'));

const FIELDS = [
  'Image',
  'CommandLine',
  'ParentImage',
  'User',
  'TargetFilename',
  'DestinationIp',
  'query',
  'x',
];
const word = fc.oneof(
  fc.constantFrom(
    'a',
    '*',
    '?',
    '\\',
    '\\*',
    '(',
    'Accepted',
    '/bin/sh',
    '.*',
    '[a-',
    '{1000}',
    '(a+)+$',
    '"',
    "'",
    '',
  ),
  fc.string({ maxLength: 20 }),
);
const fieldKey = fc
  .tuple(fc.constantFrom(...FIELDS), fc.array(fc.constantFrom(...MODIFIERS, 'bogus'), { maxLength: 3 }))
  .map(([f, m]) => [f, ...m].join('|'));
const selection = fc.dictionary(
  fieldKey,
  fc.oneof(word, fc.array(word, { maxLength: 4 }), fc.integer(), fc.constant(null)),
  {
    maxKeys: 3,
  },
);
const condition = fc.oneof(
  fc.constantFrom(
    'sel',
    'sel and not f',
    '1 of sel*',
    'all of them',
    'sel |',
    '(sel',
    'not',
    'sel or or f',
    '',
  ),
  fc.string({ maxLength: 30 }),
);
/** A rule document built as an object (valid shape, wild values), then written as YAML-ish JSON. */
const built = fc
  .record({
    title: word,
    id: fc.oneof(fc.uuid(), word),
    logsource: fc.record({
      category: fc.constantFrom(
        'process_creation',
        'file_event',
        'network_connection',
        'dns_query',
        'authentication',
        'nope',
      ),
      product: fc.constantFrom('linux', 'windows', 'palisade'),
    }),
    detection: fc.record({ sel: selection, f: selection, condition }),
    level: fc.constantFrom('low', 'medium', 'high', 'critical', 'informational', 'loud'),
  })
  .map((r) => JSON.stringify(r));
const mutatedPack = fc
  .tuple(fc.constantFrom(...PACK), fc.nat(), fc.nat(40), fc.string({ maxLength: 8 }))
  .map(([text, at, cut, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + cut);
  });

/**
 * SIGMA_RULES compiles rule files (the default pack with random edits, rule documents of the
 * right shape with wild values, random text) as `palisade rules test` and the server do: never a
 * throw; each document loads or has a state and a reason saying why not.
 */
export const SIGMA_RULES: FuzzTarget<string> = {
  name: 'Sigma rules',
  refusal: 'status error/unsupported with a reason',
  input: fc.oneof(built, mutatedPack, fc.string({ maxLength: 300 })),
  check(text) {
    const set = compileRuleSet([{ path: 'fuzz.yml', text }]);
    let loaded = false;
    for (const s of set.statuses) {
      if (!['loaded', 'disabled', 'unsupported', 'error'].includes(s.state))
        throw new Error(`state ${s.state}`);
      if (s.state === 'loaded') loaded = true;
      else if (!s.reason) throw new Error(`a ${s.state} rule without a reason: ${JSON.stringify(s)}`);
    }
    return loaded ? 'accepted' : 'refused';
  },
};
