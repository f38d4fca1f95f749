import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz } from '@palisade/testkit';
import { AUTH_LINES, JOURNAL_ENTRIES } from './auth-input.fuzz.test-util.js';

for (const target of [AUTH_LINES, JOURNAL_ENTRIES]) {
  test(`fuzz: ${target.name} never throw; refusals are ${target.refusal} (bounded budget)`, async () => {
    const r = await fuzz(target, 3000);
    assert.equal(r.accepted + r.refused, 3000);
    assert.ok(r.accepted > 0 && r.refused > 0, JSON.stringify(r));
  });
}
