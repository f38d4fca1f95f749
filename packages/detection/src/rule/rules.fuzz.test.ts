import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz } from '@palisade/testkit';
import { SIGMA_RULES } from './rules.fuzz.test-util.js';

test('fuzz: Sigma rule files never throw; each bad document has a state and a reason (bounded budget)', async () => {
  const r = await fuzz(SIGMA_RULES, 1500);
  assert.equal(r.accepted + r.refused, 1500);
  assert.ok(r.accepted > 0 && r.refused > 0, JSON.stringify(r));
});
