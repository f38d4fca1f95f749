import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { eligibilityPoint, isEligible } from './eligibility.js';

test('eligibility is deterministic, raising the share only adds agents, and shares match within 2 %', () => {
  const agents: string[] = Array.from({ length: 1000 }, () => randomUUID());
  let previous = new Set<string>();
  for (const share of [1, 5, 10, 25, 50, 100]) {
    const now = new Set(agents.filter((a) => isEligible(a, '1.4.0', share)));
    for (const a of previous) assert.ok(now.has(a), `raising the share to ${share} % dropped an agent`);
    assert.ok(
      Math.abs(now.size / agents.length - share / 100) <=
        0.02 + 3 * Math.sqrt(((share / 100) * (1 - share / 100)) / 1000),
      `share ${share}: ${now.size}`,
    );
    previous = now;
  }
  assert.equal(previous.size, 1000);
  const a = agents[0] as string;
  assert.equal(eligibilityPoint(a, '1.4.0'), eligibilityPoint(a, '1.4.0'));
  assert.notEqual(eligibilityPoint(a, '1.4.0'), eligibilityPoint(a, '1.5.0'));
  assert.equal(isEligible(a, '1.4.0', 0), false);
});
