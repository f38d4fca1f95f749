import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz } from '@palisade/testkit';
import { BATCH_FRAMES } from '../telemetry/frames.fuzz.test-util.js';
import { API_PARAMETERS, CHECKIN_BODIES, REGISTRATION_BODIES } from './requests.fuzz.test-util.js';

// Small budgets for npm test; `npm run fuzz` runs each target for a million inputs (docs/fuzzing.md).
const BUDGET: [typeof BATCH_FRAMES | typeof API_PARAMETERS, number][] = [
  [BATCH_FRAMES, 3000],
  [REGISTRATION_BODIES, 500],
  [CHECKIN_BODIES, 500],
  [API_PARAMETERS, 1500],
];

for (const [target, runs] of BUDGET) {
  test(`fuzz: ${target.name}: accepted, or refused with ${target.refusal}; never a 500 or another error (bounded budget)`, {
    timeout: 180_000,
  }, async () => {
    const r = await fuzz(target as Parameters<typeof fuzz>[0], runs);
    assert.equal(r.accepted + r.refused, runs);
    assert.ok(r.refused > 0, JSON.stringify(r));
  });
}
