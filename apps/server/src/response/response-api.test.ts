// Response commands through the real admin API and the real telemetry protocol (a simulated
// agent that answers like the real one). No host is touched: the simulated agent only reports.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AgentSelfSchema,
  CommandPhase,
  CommandResultSchema,
  IsolationState,
  IsolationStatusSchema,
  codeMatches,
  create,
} from '@palisade/protocol';
import { ManualClock } from '@palisade/common';
import { SimulatedAgent, waitFor } from '@palisade/testkit';
import { type TestServer, startTestServer } from '../testing/harness.js';
import type { IsolationRevertedAlert, IsolationLiftedLocallyAlert } from './response-alerts.js';

let t: TestServer;
const reverted: IsolationRevertedAlert[] = [];
const lifted: IsolationLiftedLocallyAlert[] = [];

before(async () => {
  t = await startTestServer({
    responseAlerts: {
      isolationReverted: (a) => reverted.push(a),
      isolationLiftedLocally: (a) => lifted.push(a),
    },
  });
});
after(() => t.stop());

async function agent(): Promise<SimulatedAgent> {
  return SimulatedAgent.register({
    registrationUrl: t.server.registrationUrl,
    caPem: t.server.caPem,
    registrationKey: t.registrationKey,
  });
}

const self = create(AgentSelfSchema, {
  pid: 4321,
  helperPids: [4322],
  protectedPaths: ['/var/lib/palisade/agent'],
});

function status(
  state: IsolationState,
  revision: number,
  reason = '',
  extra: {
    allowedAddresses?: string[];
    localRestore?: { revision: bigint; atMs: bigint; codeId: string };
  } = {},
) {
  return create(IsolationStatusSchema, {
    state,
    revision: BigInt(revision),
    reason,
    sinceMs: BigInt(Date.now()),
    ...extra,
  });
}

async function command(id: string) {
  const r = await t.api('GET', `/api/v1/commands/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.command;
}

async function agentView(id: string) {
  return (await t.api('GET', `/api/v1/agents/${id}`)).json;
}

describe('response commands', () => {
  test('kill-process: pending while offline, delivered at connect, succeeded with the result; never re-sent once done', async () => {
    const a = await agent();
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/kill-process`, {
      body: { pid: 777, start_time: '2026-05-01T10:00:00.250Z', reason: 'cryptominer' },
    });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const c = r.json.command;
    assert.equal(c.state, 'pending');
    assert.equal(c.type, 'kill_process');
    assert.deepEqual(c.params, {
      pid: 777,
      start_time_ms: Date.parse('2026-05-01T10:00:00.250Z'),
      tree: false,
    });
    assert.equal(c.requested_by.name, 'quickstart-admin');
    assert.ok(c.expires_at, 'kill commands expire');
    await a.connect({ self });
    const pushed = await a.nextCommand((x) => x.id === c.id);
    assert.equal(pushed.action.case, 'killProcess');
    if (pushed.action.case === 'killProcess') {
      assert.equal(pushed.action.value.pid, 777);
      assert.equal(pushed.action.value.startTimeMs, BigInt(Date.parse('2026-05-01T10:00:00.250Z')));
    }
    assert.equal(pushed.reason, 'cryptominer');
    a.sendCommandResult(
      create(CommandResultSchema, { id: c.id, ok: true, phase: CommandPhase.RECEIVED, message: 'received' }),
    );
    await waitFor('delivered', async () => (await command(c.id)).state === 'delivered');
    a.sendCommandResult(
      create(CommandResultSchema, {
        id: c.id,
        ok: true,
        phase: CommandPhase.FINAL,
        message: 'killed process 777 (xmrig)',
        process: {
          pid: 777,
          name: 'xmrig',
          path: '/tmp/xmrig',
          cmdLine: '/tmp/xmrig -o pool',
          uid: 'a'.repeat(32),
        },
        killedPids: [777],
      }),
    );
    const done = await waitFor('succeeded', async () => {
      const x = await command(c.id);
      return x.state === 'succeeded' ? x : undefined;
    });
    assert.equal(done.result.process.name, 'xmrig');
    assert.deepEqual(done.result.killed_pids, [777]);
    assert.ok(done.delivered_at && done.finished_at);
    // A late duplicate result changes nothing; a reconnect does not bring the command again.
    a.sendCommandResult(
      create(CommandResultSchema, { id: c.id, ok: false, phase: CommandPhase.FINAL, message: 'late' }),
    );
    await a.close();
    a.commands.length = 0;
    await a.connect({ self });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.commands.filter((x) => x.id === c.id).length, 0);
    assert.equal((await command(c.id)).state, 'succeeded');
    const audit = await t.api('GET', `/api/v1/audit?action=command&target=${a.agentId}`);
    const e = audit.json.entries.find(
      (x: { details: { command_id: string } }) => x.details.command_id === c.id,
    );
    assert.equal(e.action, 'command.kill_process');
    assert.equal(e.details.reason, 'cryptominer');
    assert.equal(e.actor.name, 'quickstart-admin');
    await a.close();
  });

  test('a command not answered before a reconnect is delivered again; listed and filtered', async () => {
    const a = await agent();
    await a.connect({ self });
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/quarantine-file`, {
      body: { path: '/tmp/dropper' },
    });
    assert.equal(r.status, 202);
    const id = r.json.command.id;
    await a.nextCommand((x) => x.id === id);
    await a.close();
    a.commands.length = 0;
    await a.connect({ self });
    await a.nextCommand((x) => x.id === id);
    a.sendCommandResult(
      create(CommandResultSchema, { id, ok: false, code: 'not_found', message: 'no file /tmp/dropper' }),
    );
    const failed = await waitFor('failed', async () => {
      const x = await command(id);
      return x.state === 'failed' ? x : undefined;
    });
    assert.equal(failed.error, 'not_found: no file /tmp/dropper');
    const list = await t.api('GET', `/api/v1/commands?agent_id=${a.agentId}&state=failed`);
    assert.deepEqual(
      list.json.commands.map((x: { id: string }) => x.id),
      [id],
    );
    const bad = await t.api('GET', '/api/v1/commands?state=nope');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /state/);
    await a.close();
  });

  test('bad input is refused with a clear error and stores nothing', async () => {
    const a = await agent();
    await a.connect({ self });
    const decom = await agent();
    assert.equal((await t.api('POST', `/api/v1/agents/${decom.agentId}/decommission`)).status, 200);
    const before = (await t.api('GET', '/api/v1/commands?limit=1000')).json.commands.length;
    const cases: [string, string, unknown, number, RegExp][] = [
      ['unknown agent', '00000000-0000-4000-8000-000000000000/isolate', { reason: 'x' }, 404, /no agent/],
      ['not a uuid', 'abc/isolate', { reason: 'x' }, 400, /id/],
      ['decommissioned', `${decom.agentId}/kill-process`, { pid: 5, start_time: 1 }, 409, /decommissioned/],
      ['isolate without reason', `${a.agentId}/isolate`, {}, 400, /reason: required/],
      [
        'unknown field',
        `${a.agentId}/isolate`,
        { reason: 'x', force: true },
        400,
        /field force: unknown field \(allowed: reason\)/,
      ],
      ['pid 1', `${a.agentId}/kill-process`, { pid: 1, start_time: 1 }, 400, /pid: 1 is init/],
      [
        'the agent itself',
        `${a.agentId}/kill-process`,
        { pid: 4321, start_time: 1 },
        400,
        /Palisade agent itself/,
      ],
      [
        'its helper',
        `${a.agentId}/kill-process`,
        { pid: 4322, start_time: 1 },
        400,
        /helper of the Palisade agent/,
      ],
      ['no start time', `${a.agentId}/kill-process`, { pid: 99 }, 400, /start_time or process_uid: required/],
      [
        'pid not a number',
        `${a.agentId}/kill-process`,
        { pid: 'x', start_time: 1 },
        400,
        /field pid: "x" is not a process id/,
      ],
      ['bad start time', `${a.agentId}/kill-process`, { pid: 9, start_time: 'yesterday' }, 400, /start_time/],
      ['relative path', `${a.agentId}/quarantine-file`, { path: 'tmp/x' }, 400, /not absolute/],
      [
        'dot-dot path',
        `${a.agentId}/quarantine-file`,
        { path: '/tmp/../etc/shadow' },
        400,
        /normalized form/,
      ],
      [
        'agent files',
        `${a.agentId}/quarantine-file`,
        { path: '/var/lib/palisade/agent/agent.key' },
        400,
        /agent's own files/,
      ],
      ['proc', `${a.agentId}/quarantine-file`, { path: '/proc/1/mem' }, 400, /pseudo-filesystem/],
      [
        'unknown quarantine id',
        `${a.agentId}/restore-file`,
        { quarantine_id: '00000000-0000-4000-8000-000000000009' },
        404,
        /no quarantined file/,
      ],
      ['restore when not isolated', `${a.agentId}/restore`, {}, 409, /not isolated/],
    ];
    for (const [name, path, body, status, msg] of cases) {
      const r = await t.api('POST', `/api/v1/agents/${path}`, { body });
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.error.message, msg, name);
    }
    assert.equal(
      (await t.api('GET', '/api/v1/commands?limit=1000')).json.commands.length,
      before,
      'nothing stored',
    );
    assert.equal((await agentView(a.agentId)).isolation.desired.isolated, false, 'no isolation half-applied');
    await a.close();
  });

  test('viewers may list commands but not act', async () => {
    const a = await agent();
    const tok = await t.api('POST', '/api/v1/tokens', { body: { name: 'resp-viewer', role: 'viewer' } });
    const viewer = tok.json.secret;
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/isolate`, {
      token: viewer,
      body: { reason: 'x' },
    });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'forbidden');
    assert.equal((await t.api('GET', '/api/v1/commands', { token: viewer })).status, 200);
    assert.equal(
      (await t.api('POST', `/api/v1/agents/${a.agentId}/restore-code`, { token: viewer, body: {} })).status,
      403,
    );
    const ana = await t.api('POST', '/api/v1/tokens', { body: { name: 'resp-analyst', role: 'analyst' } });
    const iso = await t.api('POST', `/api/v1/agents/${a.agentId}/isolate`, {
      token: ana.json.secret,
      body: { reason: 'analyst may' },
    });
    assert.equal(iso.status, 202);
    assert.equal(
      (await t.api('POST', `/api/v1/agents/${a.agentId}/restore-code`, { token: ana.json.secret, body: {} }))
        .status,
      403,
    );
  });
});

describe('isolation state', () => {
  test('desired and actual side by side: pending only while offline, then applying, isolated; restore; a second isolate is refused', async () => {
    const a = await agent();
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/isolate`, {
      body: { reason: 'ransomware note' },
    });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const c = r.json.command;
    assert.equal(c.isolation_revision, 1);
    assert.equal(c.expires_at, null, 'isolation does not expire: the desired state persists');
    let v = await agentView(a.agentId);
    assert.equal(v.isolation.status, 'pending');
    assert.ok(v.isolation.pending_since);
    assert.equal(v.isolation.desired.isolated, true);
    assert.equal(v.isolation.desired.reason, 'ransomware note');
    assert.equal(v.isolation.actual, null);
    const again = await t.api('POST', `/api/v1/agents/${a.agentId}/isolate`, { body: { reason: 'twice' } });
    assert.equal(again.status, 409);
    assert.match(again.json.error.message, /pending/);
    // The agent comes online: Welcome carries the desired state, the command follows.
    const welcome = await a.connect({ self, isolation: status(IsolationState.NOT_ISOLATED, 0) });
    assert.equal(welcome.isolation?.isolated, true);
    assert.equal(welcome.isolation?.revision, 1n);
    assert.equal(welcome.isolation?.commandId, c.id);
    assert.ok(welcome.restoreCode?.hash.length, 'and its restore code verifier');
    const pushed = await a.nextCommand((x) => x.id === c.id);
    assert.equal(pushed.action.case, 'setIsolation');
    v = await agentView(a.agentId);
    assert.equal(v.isolation.status, 'applying', 'online: not pending');
    a.sendHeartbeat(undefined, 0n, { isolation: status(IsolationState.APPLYING, 1) });
    await waitFor('delivered', async () => (await command(c.id)).state === 'delivered');
    a.sendHeartbeat(undefined, 0n, {
      isolation: status(IsolationState.ISOLATED, 1, '', { allowedAddresses: ['127.0.0.1 7443'] }),
    });
    await waitFor('succeeded', async () => (await command(c.id)).state === 'succeeded');
    v = await agentView(a.agentId);
    assert.equal(v.isolation.status, 'isolated');
    assert.equal(v.isolation.actual.state, 'isolated');
    assert.deepEqual(v.isolation.actual.allowed_addresses, ['127.0.0.1 7443']);
    assert.equal(
      (await t.api('POST', `/api/v1/agents/${a.agentId}/isolate`, { body: { reason: 'x' } })).status,
      409,
    );
    const res = await t.api('POST', `/api/v1/agents/${a.agentId}/restore`, { body: { reason: 'cleaned' } });
    assert.equal(res.status, 202);
    assert.equal(res.json.command.isolation_revision, 2);
    await a.nextCommand((x) => x.id === res.json.command.id);
    assert.equal((await agentView(a.agentId)).isolation.status, 'restoring');
    a.sendHeartbeat(undefined, 0n, { isolation: status(IsolationState.NOT_ISOLATED, 2) });
    await waitFor(
      'restore succeeded',
      async () => (await command(res.json.command.id)).state === 'succeeded',
    );
    assert.equal((await agentView(a.agentId)).isolation.status, 'not_isolated');
    await a.close();
  });

  test('a reverted isolation fails its command with the reason, is audited and raises the alert hook', async () => {
    const a = await agent();
    await a.connect({ self });
    const r = await t.api('POST', `/api/v1/agents/${a.agentId}/isolate`, { body: { reason: 'test revert' } });
    const id = r.json.command.id;
    await a.nextCommand((x) => x.id === id);
    const why =
      'isolation reverted: backend unreachable through the isolation rules: no check-in answered within 5000 ms';
    a.sendHeartbeat(undefined, 0n, { isolation: status(IsolationState.REVERTED, 1, why) });
    const failed = await waitFor('failed', async () => {
      const x = await command(id);
      return x.state === 'failed' ? x : undefined;
    });
    assert.equal(failed.error, why);
    assert.equal((await agentView(a.agentId)).isolation.status, 'reverted');
    await waitFor('the alert hook', () => reverted.some((x) => x.agentId === a.agentId));
    assert.equal(reverted.find((x) => x.agentId === a.agentId)?.reason, why);
    const audit = await t.api('GET', `/api/v1/audit?action=agent.isolation_reverted&target=${a.agentId}`);
    assert.equal(audit.json.entries.length, 1);
    // Isolating again is how the operator retries.
    assert.equal(
      (await t.api('POST', `/api/v1/agents/${a.agentId}/isolate`, { body: { reason: 'retry' } })).status,
      202,
    );
    await a.close();
  });

  test('restore code: shown once to an admin, matches the verifier the agent got, rotates; a local lift is audited, ends isolation and replaces the code', async () => {
    const a = await agent();
    const ci = await a.checkIn();
    assert.ok(ci.restoreCode, 'check-in carries the verifier');
    const shown = await t.api('POST', `/api/v1/agents/${a.agentId}/restore-code`, { body: {} });
    assert.equal(shown.status, 200, JSON.stringify(shown.json));
    assert.equal(await codeMatches(shown.json.code, ci.restoreCode!), true);
    assert.equal(await codeMatches('AAAAA-AAAAA-AAAAA-AAAAA', ci.restoreCode!), false);
    const twice = await t.api('POST', `/api/v1/agents/${a.agentId}/restore-code`, { body: {} });
    assert.equal(twice.status, 409);
    assert.match(twice.json.error.message, /shown already .* to quickstart-admin; rotate/);
    const rot = await t.api('POST', `/api/v1/agents/${a.agentId}/restore-code/rotate`, { body: {} });
    assert.equal(rot.status, 200);
    const ci2 = await a.checkIn();
    assert.equal(await codeMatches(rot.json.code, ci2.restoreCode!), true);
    assert.equal(await codeMatches(shown.json.code, ci2.restoreCode!), false, 'the old code no longer works');
    const audit = await t.api('GET', `/api/v1/audit?action=agent&target=${a.agentId}`);
    const actions = audit.json.entries.map((e: { action: string }) => e.action);
    assert.ok(
      actions.includes('agent.restore_code_reveal') && actions.includes('agent.restore_code_rotate'),
      actions.join(),
    );
    assert.ok(!JSON.stringify(audit.json).includes(rot.json.code), 'never a code in the audit log');

    const iso = await t.api('POST', `/api/v1/agents/${a.agentId}/isolate`, { body: { reason: 'lift test' } });
    await a.checkIn({ isolation: status(IsolationState.ISOLATED, 1) });
    await waitFor('isolated', async () => (await command(iso.json.command.id)).state === 'succeeded');
    // The person at the console used the code while the server was away; the agent reports it.
    const codeId = ci2.restoreCode!.codeId;
    const after = await a.checkIn({
      isolation: status(
        IsolationState.NOT_ISOLATED,
        1,
        'isolation lifted at the host with the offline restore code',
        {
          localRestore: { revision: 1n, atMs: BigInt(Date.now() - 1000), codeId },
        },
      ),
    });
    assert.equal(after.isolation?.isolated, false, 'the server now wants it open too');
    assert.equal(after.isolation?.revision, 2n);
    assert.notEqual(after.restoreCode?.codeId, codeId, 'the used code is replaced');
    const v = await agentView(a.agentId);
    assert.equal(v.isolation.desired.isolated, false);
    assert.equal(v.isolation.actual.local_restore.code_id, codeId);
    assert.equal(v.isolation.status, 'lifted_locally');
    await waitFor('the alert hook', () => lifted.some((x) => x.agentId === a.agentId));
    const lift = await t.api(
      'GET',
      `/api/v1/audit?action=agent.isolation_lifted_locally&target=${a.agentId}`,
    );
    assert.equal(lift.json.entries.length, 1);
    assert.equal(lift.json.entries[0].actor.name, 'host console (offline restore code)');
  });
});

describe('command expiry', () => {
  test('a command no agent answers expires after the configured time; isolation does not; a late result changes nothing', async () => {
    const clock = new ManualClock(Date.now());
    const s = await startTestServer({ clock, commandExpiryMs: 2 * 86_400_000 });
    try {
      const a = await SimulatedAgent.register({
        registrationUrl: s.server.registrationUrl,
        caPem: s.server.caPem,
        registrationKey: s.registrationKey,
      });
      const kill = await s.api('POST', `/api/v1/agents/${a.agentId}/kill-process`, {
        body: { pid: 50, start_time: 1 },
      });
      const iso = await s.api('POST', `/api/v1/agents/${a.agentId}/isolate`, { body: { reason: 'keep' } });
      assert.equal(Date.parse(kill.json.command.expires_at) - clock.now(), 2 * 86_400_000);
      clock.advance(86_400_000);
      assert.equal(await s.server.response.expireDue(), 0);
      clock.advance(86_400_000 + 1);
      assert.equal(await s.server.response.expireDue(), 1);
      const k = (await s.api('GET', `/api/v1/commands/${kill.json.command.id}`)).json.command;
      assert.equal(k.state, 'expired');
      assert.match(k.error, /expired/);
      assert.equal(
        (await s.api('GET', `/api/v1/commands/${iso.json.command.id}`)).json.command.state,
        'pending',
      );
      await a.connect();
      a.sendCommandResult(
        create(CommandResultSchema, { id: kill.json.command.id, ok: true, message: 'too late' }),
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        (await s.api('GET', `/api/v1/commands/${kill.json.command.id}`)).json.command.state,
        'expired',
      );
      assert.equal(
        a.commands.filter((c) => c.id === kill.json.command.id).length,
        0,
        'an expired command is not delivered',
      );
      await a.close();
    } finally {
      await s.stop();
    }
  });
});
