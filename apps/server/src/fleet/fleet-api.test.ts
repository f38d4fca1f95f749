import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Tier } from '@palisade/protocol';
import { RegistrationRefused, SimulatedAgent, makeProcessEvent } from '@palisade/testkit';
import { waitFor } from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';

// biome-ignore lint/suspicious/noExplicitAny: tests probe response JSON freely
type Json = any;

describe('fleet management through the admin API', () => {
  let t: TestServer;
  const agents: SimulatedAgent[] = [];
  const register = async (machineId?: string, key?: string) => {
    const a = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: key ?? t.registrationKey,
      caPem: t.server.caPem,
      ...(machineId ? { host: { machineId } } : {}),
    });
    agents.push(a);
    return a;
  };
  const groups = async (): Promise<Json[]> => (await t.api('GET', '/api/v1/groups')).json.groups;
  // What an admin change could alter (not last-seen times or reported revisions, which agents move).
  const snapshot = async () =>
    JSON.stringify([
      (await groups()).map((g) => [g.id, g.name, g.policy, g.agent_count]),
      (await t.api('GET', '/api/v1/agents')).json.agents.map((x: Json) => [x.id, x.group_id, x.status]),
    ]);

  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    for (const a of agents) await a.close();
    await t.stop();
  });

  test('groups: create, list with counts, get, rename; duplicate names are a clear 409', async () => {
    const a = await t.api('POST', '/api/v1/groups', {
      body: { name: 'web', policy: { tier: 'workstation', channel: 'beta' } },
    });
    assert.equal(a.status, 201, JSON.stringify(a.json));
    assert.deepEqual(a.json.policy, {
      revision: 2, // revisions increase across groups: default has 1
      tier: 'workstation',
      channel: 'beta',
      maintenance_window: 'always',
    });
    const dup = await t.api('POST', '/api/v1/groups', { body: { name: 'web' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error.message, 'a group named "web" already exists');
    await t.api('POST', '/api/v1/groups', { body: { name: 'db' } });
    const ren = await t.api('PATCH', '/api/v1/groups/db', { body: { name: 'database' } });
    assert.equal(ren.status, 200, JSON.stringify(ren.json));
    assert.equal(ren.json.name, 'database');
    const clash = await t.api('PATCH', '/api/v1/groups/database', { body: { name: 'web' } });
    assert.equal(clash.status, 409);
    assert.deepEqual((await groups()).map((g) => [g.name, g.agent_count]).sort(), [
      ['database', 0],
      ['default', 0],
      ['web', 0],
    ]);
    const one = await t.api('GET', `/api/v1/groups/${a.json.id}`);
    assert.equal(one.json.name, 'web');
    assert.equal((await t.api('GET', '/api/v1/groups/nope')).status, 404);
    const def = await t.api('PATCH', '/api/v1/groups/default', { body: { name: 'other' } });
    assert.equal(def.status, 409);
  });

  test('bad policies and names: each a clear 400 naming the field, nothing changed', async () => {
    const before = await snapshot();
    const cases: [unknown, RegExp][] = [
      [{ tier: 'desktop' }, /field tier: "desktop" is not one of server, workstation/],
      [{ channel: 'nightly' }, /field channel: "nightly" is not one of beta, preview, stable/],
      [
        { maintenance_window: { days: [1], start: '25:00', end: '03:00', time_zone: 'UTC' } },
        /maintenance_window.start: "25:00"/,
      ],
      [
        { maintenance_window: { days: [1], start: '02:00', end: '02:00', time_zone: 'UTC' } },
        /would be empty/,
      ],
      [
        { maintenance_window: { days: [], start: '01:00', end: '02:00', time_zone: 'UTC' } },
        /field maintenance_window.days: must list at least one/,
      ],
      [
        { maintenance_window: { days: [1], start: '01:00', end: '1:00', time_zone: 'UTC' } },
        /field maintenance_window.end: "1:00" is not a time HH:MM/,
      ],
      [
        { maintenance_window: { days: [1.5], start: '01:00', end: '02:00', time_zone: 'UTC' } },
        /field maintenance_window.days\[0\]: 1.5 is not a day/,
      ],
      [
        { maintenance_window: { days: ['someday'], start: '01:00', end: '02:00', time_zone: 'UTC' } },
        /field maintenance_window.days\[0\]: "someday" is not a day/,
      ],
      [
        {
          maintenance_window: {
            days: [0, 1, 2, 3, 4, 5, 6, 1],
            start: '01:00',
            end: '02:00',
            time_zone: 'UTC',
          },
        },
        /field maintenance_window.days: lists more than 7/,
      ],
      [
        { maintenance_window: { days: [1], start: '01:00', end: '02:00', time_zone: 'UTC', extra: 1 } },
        /field maintenance_window.extra: unknown field \(allowed: days, start, end, time_zone\)/,
      ],
      [
        { maintenance_window: { days: [1], start: '01:00', time_zone: 'UTC' } },
        /field maintenance_window.end: required/,
      ],
      [{ maintenance_window: null }, /field maintenance_window: null is not "always" or an object/],
      [{ tier: 5 }, /field tier: 5 is not one of server, workstation/],
      [
        { maintenance_window: { days: [8], start: '01:00', end: '02:00', time_zone: 'UTC' } },
        /days\[0\]: 8 is not a day/,
      ],
      [
        { maintenance_window: { days: ['mon', 'mon'], start: '01:00', end: '02:00', time_zone: 'UTC' } },
        /a day twice/,
      ],
      [
        { maintenance_window: { days: [1], start: '01:00', end: '02:00', time_zone: 'Mars/Olympus' } },
        /"Mars\/Olympus" is not an IANA time zone/,
      ],
      [{ maintenance_window: 'sometimes' }, /"sometimes" is not "always" or an object/],
      // A valid tier with a bad channel: the tier must not be applied either.
      [{ tier: 'server', channel: 'nightly' }, /field channel/],
      [{ tier: 'server', colour: 'red' }, /field colour: unknown field/],
    ];
    for (const [body, msg] of cases) {
      const r = await t.api('PATCH', '/api/v1/groups/web/policy', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, 'validation_failed');
      assert.match(r.json.error.message, msg);
    }
    for (const name of [
      '',
      'has space',
      '-leading',
      'x'.repeat(64),
      '00000000-0000-4000-8000-000000000000',
    ]) {
      const r = await t.api('POST', '/api/v1/groups', { body: { name } });
      assert.equal(r.status, 400, name);
      assert.match(r.json.error.message, /field name/);
    }
    const badPolicy = await t.api('POST', '/api/v1/groups', {
      body: { name: 'never', policy: { tier: 'x' } },
    });
    assert.equal(badPolicy.status, 400);
    assert.equal(await snapshot(), before);
  });

  test('a valid window is stored and bumps the revision; the same policy again does not', async () => {
    const w = { days: ['sat', 0], start: '22:00', end: '04:30', time_zone: 'Europe/Berlin' };
    const r = await t.api('PATCH', '/api/v1/groups/database/policy', { body: { maintenance_window: w } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.policy.maintenance_window, {
      days: [0, 6],
      start: '22:00',
      end: '04:30',
      time_zone: 'Europe/Berlin',
    });
    assert.equal(r.json.policy.revision, 4, 'default 1, web 2, database 3, then 4');
    const same = await t.api('PATCH', '/api/v1/groups/database/policy', { body: { maintenance_window: w } });
    assert.equal(same.json.policy.revision, 4);
  });

  let a: SimulatedAgent;
  test('a policy change reaches a connected agent within 5 s as set_policy; offline agents get it at Hello', async () => {
    a = await register();
    const b = await register();
    const welcome = await a.connect();
    assert.equal(welcome.policy?.tier, Tier.SERVER);
    const started = Date.now();
    const r = await t.api('PATCH', '/api/v1/groups/default/policy', { body: { tier: 'workstation' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.pushed_to, 1);
    const cmd = await waitFor('set_policy', () => a.commands.find((c) => c.action.case === 'setPolicy'));
    assert.ok(Date.now() - started < 5000);
    assert.equal(cmd.action.case === 'setPolicy' && cmd.action.value.tier, Tier.WORKSTATION);
    assert.equal(cmd.action.case === 'setPolicy' && Number(cmd.action.value.revision), 5);
    // b was offline: its Welcome carries the new policy, and so does a check-in.
    assert.equal((await b.connect()).policy?.tier, Tier.WORKSTATION);
    assert.equal((await b.checkIn()).policy?.tier, Tier.WORKSTATION);
    await b.close();
  });

  test("agents show the policy revision they run against their group's", async () => {
    a.sendHeartbeat({}, 4n);
    const outdated = await waitFor('the stale revision to be recorded', async () => {
      const r = await t.api('GET', '/api/v1/agents?out_of_date=true');
      return r.json.agents.find((x: Json) => x.id === a.agentId && x.policy_revision === 4);
    });
    assert.equal(outdated.policy_revision, 4);
    assert.equal(outdated.group_policy_revision, 5);
    assert.equal(outdated.policy_up_to_date, false);
    a.sendHeartbeat({}, 5n);
    const ok = await waitFor('the current revision', async () => {
      const x = (await t.api('GET', `/api/v1/agents/${a.agentId}`)).json;
      return x.policy_up_to_date ? x : undefined;
    });
    assert.equal(ok.policy_revision, 5);
    assert.equal((await groups()).find((g) => g.name === 'default').out_of_date_count, 1, 'b never reported');
  });

  test("moving an agent: its new group's policy is pushed at once", async () => {
    const n = a.commands.length;
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/move`, { body: { group: 'web' } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.group, 'web');
    const cmd = await waitFor('the new group policy', () =>
      a.commands.slice(n).find((c) => c.action.case === 'setPolicy'),
    );
    assert.equal(cmd.action.case === 'setPolicy' && cmd.action.value.channel, 1 /* BETA */);
    // web's policy (revision 2) is older than the one a runs (5), which an agent would ignore:
    // it is given the next revision so that the moved agent takes it.
    assert.equal(cmd.action.case === 'setPolicy' && Number(cmd.action.value.revision), 6);
    assert.equal((await t.api('GET', '/api/v1/groups/web')).json.policy.revision, 6);
    const bad = await t.api('POST', `/api/v1/agents/${a.agentId}/move`, { body: { group: 'nowhere' } });
    assert.equal(bad.status, 404);
    assert.match(bad.json.error.message, /no group "nowhere"/);
    assert.equal((await t.api('GET', `/api/v1/agents/${a.agentId}`)).json.group, 'web');
  });

  test('deleting a group: refused while it has agents, nothing half-applied; allowed with move_agents_to', async () => {
    const before = await snapshot();
    const r = await t.api('DELETE', '/api/v1/groups/web');
    assert.equal(r.status, 409);
    assert.match(
      r.json.error.message,
      /group "web" still has 1 agent\(s\); move them first or pass move_agents_to/,
    );
    const badTarget = await t.api('DELETE', '/api/v1/groups/web?move_agents_to=nowhere');
    assert.equal(badTarget.status, 404);
    assert.equal(await snapshot(), before);
    const n = a.commands.length;
    const ok = await t.api('DELETE', '/api/v1/groups/web?move_agents_to=database');
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.moved_agents, 1);
    assert.equal((await t.api('GET', `/api/v1/agents/${a.agentId}`)).json.group, 'database');
    await waitFor('the policy of the group it moved to', () =>
      a.commands.slice(n).find((c) => c.action.case === 'setPolicy'),
    );
    assert.equal((await t.api('DELETE', '/api/v1/groups/default')).status, 409);
  });

  test('decommission: the open connection closes, the certificate is refused from then on, data stays', async () => {
    await a.sendBatch([makeProcessEvent(1, { marker: 'before-decommission' })]);
    const closed = a.closed(5000);
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/decommission`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.status, 'decommissioned');
    assert.equal(await closed, 4003);
    await assert.rejects(a.connect(), /agent decommissioned/);
    const ci = await a.checkIn().then(
      () => assert.fail('check-in should be refused'),
      (e: unknown) => e,
    );
    assert.ok(ci instanceof RegistrationRefused);
    assert.match(ci.message, /agent decommissioned/);
    const ev = await t.api('GET', `/api/v1/events?agent_id=${a.agentId}&contains=before-decommission`);
    assert.equal(ev.json.events.length, 1);
    assert.equal((await t.api('POST', `/api/v1/agents/${a.agentId}/decommission`)).status, 409);
  });

  test('a reinstalled machine registers again and is linked to its earlier agent', async () => {
    const first = await register('machine-reinstalled');
    const second = await register('machine-reinstalled');
    const s = (await t.api('GET', `/api/v1/agents/${second.agentId}`)).json;
    assert.equal(s.machine_id, 'machine-reinstalled');
    assert.deepEqual(s.previous_agent_ids, [first.agentId]);
    assert.equal(s.superseded_by, null);
    const f = (await t.api('GET', `/api/v1/agents/${first.agentId}`)).json;
    assert.equal(f.superseded_by, second.agentId);
  });

  test('the audit log has who, what, target, when and from where, with filters and paging', async () => {
    const all = await t.api('GET', '/api/v1/audit?limit=1000');
    const actions = all.json.entries.map((e: Json) => e.action);
    for (const a of [
      'group.create',
      'group.rename',
      'group.policy',
      'agent.move',
      'group.delete',
      'agent.decommission',
    ]) {
      assert.ok(actions.includes(a), `${a} missing from ${actions}`);
    }
    const move = (await t.api('GET', '/api/v1/audit?action=agent.move')).json.entries[0];
    assert.equal(move.actor.name, 'quickstart-admin');
    assert.ok(move.actor.id);
    assert.equal(move.remote_address, '127.0.0.1');
    assert.equal(move.target.id, a.agentId);
    assert.equal(move.details.to_group, 'web');
    assert.ok(Date.now() - Date.parse(move.at) < 60_000);
    // Failed attempts change nothing and are not recorded as actions.
    assert.equal(actions.filter((x: Json) => x === 'group.create').length, 2);
    const p1 = await t.api('GET', '/api/v1/audit?action=group&limit=2');
    assert.equal(p1.json.entries.length, 2);
    const p2 = await t.api('GET', `/api/v1/audit?action=group&limit=100&cursor=${p1.json.next_cursor}`);
    const ids = [...p1.json.entries, ...p2.json.entries].map((e: Json) => e.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ids.length, actions.filter((x: string) => x.startsWith('group.')).length);
    assert.equal((await t.api('GET', '/api/v1/audit?outcome=maybe')).status, 400);
    assert.equal((await t.api('GET', '/api/v1/audit?cursor=zzz')).status, 400);
  });

  test('tokens: names unique among active ones, role checked, the last admin cannot be revoked', async () => {
    const bad = await t.api('POST', '/api/v1/tokens', { body: { name: 'x', role: 'root' } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /field role: "root" is not one of admin, analyst, viewer/);
    const v = await t.api('POST', '/api/v1/tokens', { body: { name: 'ci-bot', role: 'viewer' } });
    assert.equal(v.status, 201);
    assert.equal(
      (await t.api('POST', '/api/v1/tokens', { body: { name: 'ci-bot', role: 'admin' } })).status,
      409,
    );
    const list = (await t.api('GET', '/api/v1/tokens')).json.tokens;
    assert.equal(JSON.stringify(list).includes(v.json.secret), false);
    assert.equal(JSON.stringify(list).includes('secret'), false);
    const admin = list.find((x: Json) => x.name === 'quickstart-admin');
    const last = await t.api('POST', `/api/v1/tokens/${admin.id}/revoke`);
    assert.equal(last.status, 409);
    assert.match(last.json.error.message, /last active admin token/);
  });

  test('concurrent policy changes each get their own revision; the last one wins', async () => {
    // Five different windows, sent at once: whatever order they run in, each is a change.
    const rs = await Promise.all(
      [1, 2, 3, 4, 5].map((h) =>
        t.api('PATCH', '/api/v1/groups/database/policy', {
          body: { maintenance_window: { days: [h], start: `0${h}:00`, end: '09:00', time_zone: 'UTC' } },
        }),
      ),
    );
    const revs = rs.map((r) => r.json.policy.revision);
    assert.equal(new Set(revs).size, revs.length, `revisions ${revs}`);
    const final = (await t.api('GET', '/api/v1/groups/database')).json.policy;
    assert.equal(final.revision, Math.max(...revs));
  });
});
