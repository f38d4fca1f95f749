import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicySchema, Tier, create } from '@palisade/protocol';
import { PolicyState } from './policy-state.js';

const policy = (revision: bigint, tier: Tier) => create(PolicySchema, { revision, tier });

test('the server policy sets the tier unless a local override exists; only changes are applied', () => {
  const applied: Tier[] = [];
  const p = new PolicyState((t) => applied.push(t));
  assert.equal(p.tier, Tier.WORKSTATION);
  assert.equal(p.setServerPolicy(policy(3n, Tier.SERVER)), true);
  assert.equal(p.tier, Tier.SERVER);
  assert.equal(p.revision, 3n);
  p.setServerPolicy(policy(4n, Tier.SERVER));
  assert.deepEqual(applied, [Tier.SERVER]);
  assert.equal(p.setServerPolicy(policy(2n, Tier.WORKSTATION)), false, 'an older revision is ignored');
  p.setOverride('workstation');
  assert.equal(p.tier, Tier.WORKSTATION);
  p.setServerPolicy(policy(5n, Tier.SERVER));
  assert.equal(p.tier, Tier.WORKSTATION, 'the override wins over the server');
  p.setOverride(undefined);
  assert.equal(p.tier, Tier.SERVER);
  assert.deepEqual(applied, [Tier.SERVER, Tier.WORKSTATION, Tier.SERVER]);
});

test('an override given at start applies before any policy arrives', () => {
  const p = new PolicyState(() => {}, 'server');
  assert.equal(p.tier, Tier.SERVER);
  p.setServerPolicy(policy(1n, Tier.WORKSTATION));
  assert.equal(p.tier, Tier.SERVER);
  assert.equal(p.revision, 1n);
});
