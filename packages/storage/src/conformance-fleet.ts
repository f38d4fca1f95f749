import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentFixture, groupFixture, keyFixture, T0, tokenFixture } from './conformance-fixtures.js';
import type { AgentRecord } from './types.js';
import { byId, type OpenStorage, rejectsWith, seedFleet, withStorage } from './conformance-helpers.js';

/** fleetConformance registers the tests of groups, registration keys, agents and API tokens. */
export function fleetConformance(open: OpenStorage): void {
  describe('groups', () => {
    it('creates, reads by id and by name, and lists groups', () =>
      withStorage(open, async (s) => {
        const a = groupFixture({ name: 'servers' });
        const b = groupFixture({
          name: 'laptops',
          policy: { revision: 4, tier: 'server', channel: 'beta', maintenanceWindow: 'always' },
        });
        await s.createGroup(a);
        await s.createGroup(b);
        assert.deepEqual(await s.getGroup(a.id), a);
        assert.deepEqual(await s.getGroupByName('laptops'), b);
        assert.equal(await s.getGroup('no-such-group'), undefined);
        assert.equal(await s.getGroupByName('no-such-name'), undefined);
        assert.deepEqual(byId(await s.listGroups()), byId([a, b]));
      }));

    it('refuses a duplicate id or name with conflict and keeps the first', () =>
      withStorage(open, async (s) => {
        const a = groupFixture({ name: 'dup' });
        await s.createGroup(a);
        await rejectsWith(s.createGroup(groupFixture({ name: 'dup' })), 'conflict', /dup/);
        await rejectsWith(s.createGroup(groupFixture({ id: a.id, name: 'other' })), 'conflict');
        assert.deepEqual(await s.listGroups(), [a]);
      }));

    it('renames and changes the policy; unknown ids and taken names are refused', () =>
      withStorage(open, async (s) => {
        const a = groupFixture({ name: 'first' });
        const b = groupFixture({ name: 'second' });
        await s.createGroup(a);
        await s.createGroup(b);
        await s.updateGroup(a.id, { name: 'renamed' });
        const policy = {
          revision: 2,
          tier: 'server' as const,
          channel: 'preview' as const,
          maintenanceWindow: 'always' as const,
        };
        await s.updateGroup(a.id, { policy });
        assert.deepEqual(await s.getGroup(a.id), { ...a, name: 'renamed', policy });
        assert.equal(await s.getGroupByName('first'), undefined);
        await rejectsWith(s.updateGroup(a.id, { name: 'second' }), 'conflict');
        await rejectsWith(s.updateGroup('no-such-group', { name: 'x' }), 'not_found');
        assert.equal((await s.getGroup(a.id))?.name, 'renamed');
      }));

    it('deletes an empty group with its keys, refuses a group that still has agents', () =>
      withStorage(open, async (s) => {
        const empty = groupFixture();
        await s.createGroup(empty);
        const k = keyFixture(empty.id);
        await s.createKey(k);
        await s.deleteGroup(empty.id);
        assert.equal(await s.getGroup(empty.id), undefined);
        assert.equal(await s.getKey(k.id), undefined);

        const fleet = await seedFleet(s, 1);
        await rejectsWith(s.deleteGroup(fleet.group.id), 'conflict');
        assert.deepEqual(await s.getGroup(fleet.group.id), fleet.group);
        await rejectsWith(s.deleteGroup('no-such-group'), 'not_found');
      }));
  });

  describe('registration keys', () => {
    it('creates, reads, finds by secret hash and lists keys, all or per group', () =>
      withStorage(open, async (s) => {
        const g1 = groupFixture();
        const g2 = groupFixture();
        await s.createGroup(g1);
        await s.createGroup(g2);
        const k1 = keyFixture(g1.id);
        const k2 = keyFixture(g1.id, { rotatedFrom: k1.id, createdAt: T0 + 335 * 86_400_000 });
        const k3 = keyFixture(g2.id, { revokedAt: T0 + 5 });
        for (const k of [k1, k2, k3]) await s.createKey(k);
        assert.deepEqual(await s.getKey(k2.id), k2);
        assert.deepEqual(await s.findKeyBySecretHash(k3.secretHash), k3);
        assert.equal(await s.findKeyBySecretHash('0'.repeat(64)), undefined);
        assert.equal(await s.getKey('no-such-key'), undefined);
        assert.deepEqual(byId(await s.listKeys()), byId([k1, k2, k3]));
        assert.deepEqual(byId(await s.listKeys(g1.id)), byId([k1, k2]));
        assert.deepEqual(await s.listKeys('no-such-group'), []);
      }));

    it('refuses a key for an unknown group or with a secret hash already in use', () =>
      withStorage(open, async (s) => {
        const g = groupFixture();
        await s.createGroup(g);
        await rejectsWith(s.createKey(keyFixture('no-such-group')), 'not_found', /group/);
        const k = keyFixture(g.id);
        await s.createKey(k);
        await rejectsWith(s.createKey(keyFixture(g.id, { secretHash: k.secretHash })), 'conflict');
        assert.deepEqual(await s.listKeys(), [k]);
      }));

    it('revokes a key and counts the agents registered with each key', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 2);
        const other = keyFixture(fleet.group.id);
        const unused = keyFixture(fleet.group.id);
        await s.createKey(other);
        await s.createKey(unused);
        await s.createAgent(agentFixture(fleet.group.id, other.id));
        await s.revokeKey(fleet.key.id, T0 + 99);
        assert.equal((await s.getKey(fleet.key.id))?.revokedAt, T0 + 99);
        await rejectsWith(s.revokeKey('no-such-key', T0), 'not_found');
        const counts = await s.countRegistrationsByKey();
        assert.equal(counts.get(fleet.key.id), 2);
        assert.equal(counts.get(other.id), 1);
        assert.equal(counts.get(unused.id) ?? 0, 0);
      }));

    it("keeps a key's use quota and refuses the registration beyond it, storing nothing", () =>
      withStorage(open, async (s) => {
        const g = groupFixture();
        await s.createGroup(g);
        const k = keyFixture(g.id, { maxUses: 2 });
        const open_ = keyFixture(g.id);
        await s.createKey(k);
        await s.createKey(open_);
        assert.equal((await s.getKey(k.id))?.maxUses, 2);
        assert.equal((await s.getKey(open_.id))?.maxUses, null);
        await s.createAgent(agentFixture(g.id, k.id));
        await s.createAgent(agentFixture(g.id, k.id));
        const third = agentFixture(g.id, k.id);
        await rejectsWith(s.createAgent(third), 'exhausted_registration_key', /2 of 2/);
        assert.equal(await s.getAgent(third.id), undefined);
        assert.equal((await s.countRegistrationsByKey()).get(k.id), 2);
        // A key without a quota is not limited.
        for (let i = 0; i < 3; i++) await s.createAgent(agentFixture(g.id, open_.id));
        assert.equal((await s.countRegistrationsByKey()).get(open_.id), 3);
      }));
  });

  describe('agents', () => {
    it('creates, reads, lists and finds agents by machine id, every field round-tripping', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 2);
        const [a, b] = fleet.agents as [(typeof fleet.agents)[0], (typeof fleet.agents)[0]];
        const again = agentFixture(fleet.group.id, fleet.key.id, {
          host: { ...a.host, hostname: 'reinstalled' },
          capabilities: [{ kind: 'process', active: false, source: 'ebpf', reason: 'no BTF' }],
          stats: { spoolBytes: 12, channel: 'primary' },
          policyRevision: 3,
          lastSeenAt: T0 + 7,
          revokedAt: T0 + 8,
          revocationReason: 'laptop stolen',
          decommissionedAt: T0 + 9,
          certNotAfter: null,
          certCaSha256: null,
          pendingCert: {
            fingerprint: 'f'.repeat(64),
            publicKeyFingerprint: 'e'.repeat(64),
            issuedAt: T0 + 10,
            notAfter: T0 + 20,
            caSha256: 'ca-2',
          },
          pinnedCaSha256: ['ca-1', 'ca-2'],
        });
        await s.createAgent(again);
        assert.deepEqual(await s.getAgent(a.id), a);
        assert.deepEqual(await s.getAgent(again.id), again);
        assert.equal(await s.getAgent('no-such-agent'), undefined);
        assert.deepEqual(byId(await s.listAgents()), byId([a, b, again]));
        assert.deepEqual(byId(await s.findAgentsByMachineId(a.host.machineId)), byId([a, again]));
        assert.deepEqual(await s.findAgentsByMachineId('unknown-machine'), []);
      }));

    it('refuses an agent of an unknown group or with an id already in use', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 1);
        await rejectsWith(s.createAgent(agentFixture('no-such-group', fleet.key.id)), 'not_found', /group/);
        await rejectsWith(
          s.createAgent(agentFixture(fleet.group.id, fleet.key.id, { id: fleet.agents[0]!.id })),
          'conflict',
        );
        assert.equal((await s.listAgents()).length, 1);
      }));

    it('touchAgent records last seen and replaces only what it is given', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 1);
        const a = fleet.agents[0]!;
        await s.touchAgent(a.id, { lastSeenAt: T0 + 1000 });
        assert.deepEqual(await s.getAgent(a.id), { ...a, lastSeenAt: T0 + 1000 });
        const host = { ...a.host, kernel: '6.19.1', ipAddresses: [] };
        const capabilities = [
          { kind: 'auth', active: true, source: 'auth.log', reason: '' },
          { kind: 'netflow', active: false, source: 'ebpf', reason: 'helper crashed' },
        ];
        const stats = { dropped: 5, lastError: 'none' };
        await s.touchAgent(a.id, { lastSeenAt: T0 + 2000, host, capabilities, stats, policyRevision: 7 });
        const want = { ...a, lastSeenAt: T0 + 2000, host, capabilities, stats, policyRevision: 7 };
        assert.deepEqual(await s.getAgent(a.id), want);
        await s.touchAgent(a.id, { lastSeenAt: T0 + 3000 });
        assert.deepEqual(await s.getAgent(a.id), { ...want, lastSeenAt: T0 + 3000 });
        // A host whose machine id changed (reinstalled) is found under the new id only.
        await s.touchAgent(a.id, { lastSeenAt: T0 + 4000, host: { ...host, machineId: 'new-machine' } });
        assert.deepEqual(
          (await s.findAgentsByMachineId('new-machine')).map((x) => x.id),
          [a.id],
        );
        assert.deepEqual(await s.findAgentsByMachineId(a.host.machineId), []);
        await rejectsWith(s.touchAgent('no-such-agent', { lastSeenAt: T0 }), 'not_found');
        // The CAs it pins are kept until it reports them again.
        await s.touchAgent(a.id, { lastSeenAt: T0 + 5000, pinnedCaSha256: ['ca-1', 'ca-2'] });
        await s.touchAgents([{ id: a.id, update: { lastSeenAt: T0 + 6000, stats: { x: 1 } } }]);
        assert.deepEqual((await s.getAgent(a.id))?.pinnedCaSha256, ['ca-1', 'ca-2']);
      }));

    it('touchAgents records many agents at once and reports the unknown ids', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 3);
        const [a, b, c] = fleet.agents as [AgentRecord, AgentRecord, AgentRecord];
        assert.deepEqual(await s.touchAgents([]), []);
        const unknown = await s.touchAgents([
          { id: a.id, update: { lastSeenAt: T0 + 10, stats: { spoolBytes: 1 } } },
          { id: 'ghost', update: { lastSeenAt: T0 + 11 } },
          { id: b.id, update: { lastSeenAt: T0 + 12, policyRevision: 4 } },
        ]);
        assert.deepEqual(unknown, ['ghost']);
        assert.deepEqual(await s.getAgent(a.id), { ...a, lastSeenAt: T0 + 10, stats: { spoolBytes: 1 } });
        assert.deepEqual(await s.getAgent(b.id), { ...b, lastSeenAt: T0 + 12, policyRevision: 4 });
        assert.deepEqual(await s.getAgent(c.id), c);
      }));

    it('updateAgent moves, revokes and decommissions; unknown agent or group is refused', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 1);
        const a = fleet.agents[0]!;
        const g2 = groupFixture();
        await s.createGroup(g2);
        await s.updateAgent(a.id, { groupId: g2.id });
        await s.updateAgent(a.id, { revokedAt: T0 + 1, revocationReason: 'key leaked' });
        await s.updateAgent(a.id, { decommissionedAt: T0 + 2 });
        assert.deepEqual(await s.getAgent(a.id), {
          ...a,
          groupId: g2.id,
          revokedAt: T0 + 1,
          revocationReason: 'key leaked',
          decommissionedAt: T0 + 2,
        });
        await rejectsWith(s.updateAgent(a.id, { groupId: 'no-such-group' }), 'not_found', /group/);
        assert.equal((await s.getAgent(a.id))?.groupId, g2.id);
        await rejectsWith(s.updateAgent('no-such-agent', { revokedAt: T0 }), 'not_found');
        // Moving the agent out emptied the first group, which can now go.
        await s.deleteGroup(fleet.group.id);
      }));

    it('a renewed certificate is pending until promoted; promotion is atomic and only for the pending fingerprint', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 2);
        const [a, b] = fleet.agents as [AgentRecord, AgentRecord];
        const first = {
          fingerprint: '1'.repeat(64),
          publicKeyFingerprint: 'a'.repeat(64),
          issuedAt: T0 + 100,
          notAfter: T0 + 1000,
          caSha256: 'ca-2',
        };
        const second = { ...first, fingerprint: '2'.repeat(64), publicKeyFingerprint: 'b'.repeat(64) };
        await s.setPendingCertificate(a.id, first);
        assert.deepEqual(await s.getAgent(a.id), { ...a, pendingCert: first });
        // A newer renewal replaces the pending one; the first can no longer be promoted.
        await s.setPendingCertificate(a.id, second);
        assert.equal(await s.promoteCertificate(a.id, first.fingerprint), false);
        assert.equal(
          await s.promoteCertificate(a.id, a.certFingerprint),
          false,
          'the current one is not pending',
        );
        assert.equal(
          await s.promoteCertificate(b.id, second.fingerprint),
          false,
          'pending for another agent',
        );
        assert.equal(await s.promoteCertificate(a.id, second.fingerprint), true);
        assert.deepEqual(await s.getAgent(a.id), {
          ...a,
          certFingerprint: second.fingerprint,
          publicKeyFingerprint: second.publicKeyFingerprint,
          certNotAfter: second.notAfter,
          certCaSha256: second.caSha256,
          pendingCert: null,
        });
        assert.equal(await s.promoteCertificate(a.id, second.fingerprint), false, 'only once');
        assert.deepEqual(await s.getAgent(b.id), b);
        await rejectsWith(s.setPendingCertificate('no-such-agent', first), 'not_found');
        assert.equal(await s.promoteCertificate('no-such-agent', first.fingerprint), false);
      }));

    it('agentCredentials returns the credential facts of the agents asked for', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 3);
        const [a, , c] = fleet.agents as [AgentRecord, AgentRecord, AgentRecord];
        await s.updateAgent(c.id, { revokedAt: T0 + 3, revocationReason: 'stolen' });
        const pending = {
          fingerprint: '3'.repeat(64),
          publicKeyFingerprint: 'c'.repeat(64),
          issuedAt: T0,
          notAfter: T0 + 5,
          caSha256: 'ca-1',
        };
        await s.setPendingCertificate(a.id, pending);
        const got = await s.agentCredentials([c.id, a.id, 'ghost']);
        const view = (x: AgentRecord) => ({
          id: x.id,
          certFingerprint: x.certFingerprint,
          certNotAfter: x.certNotAfter,
          pendingCert: x.pendingCert,
          revokedAt: x.revokedAt,
          revocationReason: x.revocationReason,
          decommissionedAt: x.decommissionedAt,
        });
        assert.deepEqual(
          byId(got),
          byId([
            view({ ...a, pendingCert: pending }),
            view({ ...c, revokedAt: T0 + 3, revocationReason: 'stolen' }),
          ]),
        );
        assert.deepEqual(await s.agentCredentials([]), []);
      }));

    it('the credential epoch moves when a credential changes, not on check-ins', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 2);
        const [a, b] = fleet.agents as [AgentRecord, AgentRecord];
        let last = await s.credentialEpoch();
        const moved = async () => {
          const now = await s.credentialEpoch();
          const changed = now !== last;
          last = now;
          return changed;
        };
        await s.touchAgent(a.id, { lastSeenAt: T0 + 1, stats: { x: 1 } });
        await s.touchAgents([{ id: b.id, update: { lastSeenAt: T0 + 2 } }]);
        assert.equal(await moved(), false, 'check-ins');
        const pending = {
          fingerprint: '4'.repeat(64),
          publicKeyFingerprint: 'd'.repeat(64),
          issuedAt: T0,
          notAfter: T0 + 9,
          caSha256: 'ca-1',
        };
        await s.setPendingCertificate(a.id, pending);
        assert.equal(await moved(), false, 'a pending certificate retires nothing yet');
        await s.promoteCertificate(a.id, pending.fingerprint);
        assert.equal(await moved(), true, 'promotion retires a certificate');
        await s.updateAgent(b.id, { revokedAt: T0 + 3 });
        assert.equal(await moved(), true, 'revocation');
        await s.updateAgent(a.id, { decommissionedAt: T0 + 4 });
        assert.equal(await moved(), true, 'decommission');
      }));

    it('counts the active agents whose certificate expires before a time', () =>
      withStorage(open, async (s) => {
        const fleet = await seedFleet(s, 1);
        const g = fleet.group.id;
        const k = fleet.key.id;
        for (const over of [
          { certNotAfter: T0 + 10 },
          { certNotAfter: T0 + 20 },
          { certNotAfter: T0 + 30 },
          { certNotAfter: T0 + 5, revokedAt: T0 },
          { certNotAfter: T0 + 5, decommissionedAt: T0 },
          { certNotAfter: null },
        ])
          await s.createAgent(agentFixture(g, k, over));
        // The seeded agent's certificate expires a year after T0.
        assert.equal(await s.countCertificatesExpiring(T0 + 10), 0);
        assert.equal(await s.countCertificatesExpiring(T0 + 25), 2);
        assert.equal(await s.countCertificatesExpiring(T0 + 400 * 86_400_000), 4);
      }));
  });

  describe('api tokens', () => {
    it('creates, finds by secret hash, lists and revokes tokens', () =>
      withStorage(open, async (s) => {
        const admin = tokenFixture({ role: 'admin', name: 'ops' });
        const viewer = tokenFixture({ role: 'viewer', name: 'dashboard' });
        await s.createToken(admin);
        await s.createToken(viewer);
        assert.deepEqual(await s.findTokenBySecretHash(admin.secretHash), admin);
        assert.equal(await s.findTokenBySecretHash('nope'), undefined);
        assert.deepEqual(byId(await s.listTokens()), byId([admin, viewer]));
        await s.revokeToken(viewer.id, T0 + 5);
        assert.deepEqual(await s.findTokenBySecretHash(viewer.secretHash), { ...viewer, revokedAt: T0 + 5 });
        await rejectsWith(s.revokeToken('no-such-token', T0), 'not_found');
        await rejectsWith(s.createToken(tokenFixture({ secretHash: admin.secretHash })), 'conflict');
        assert.equal((await s.listTokens()).length, 2);
      }));

    it("keeps a token's expiry", () =>
      withStorage(open, async (s) => {
        const expiring = tokenFixture({ expiresAt: T0 + 90 * 86_400_000 });
        await s.createToken(expiring);
        assert.deepEqual(await s.findTokenBySecretHash(expiring.secretHash), expiring);
        assert.equal(
          (await s.listTokens()).find((t) => t.id === expiring.id)?.expiresAt,
          T0 + 90 * 86_400_000,
        );
      }));
  });
}
