// Playbooks through the real admin API and a real server: alerts are handed to the alert hook
// (server.playbooks.onAlert) as the detection worker does; webhooks go to a real HTTP receiver on
// 127.0.0.1. Commands for the (simulated, offline) agents wait as pending: nothing acts on a host.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { evidenceFixture, newAlertFixture } from '@palisade/storage/testing';
import { OCSF_DIR, OcsfValidator, SimulatedAgent, removeTempDir, tempDir, waitFor } from '@palisade/testkit';
import { startTestServer, type TestServer } from '../testing/harness.js';
import type { PlaybookAlert } from './playbook-alert.js';
import { SIGNATURE_HEADER, verifySignature } from './webhook-signature.js';

let dataDir: string;
let t: TestServer;
let receiver: Server;
let hookUrl = '';
const hooks: { body: string; headers: IncomingMessage['headers'] }[] = [];
const agents: SimulatedAgent[] = [];

async function start(): Promise<TestServer> {
  return startTestServer({
    dataDir,
    keepDir: true,
    playbookIsolationsPerHour: 3,
    playbookWebhooks: { allowLoopbackHttp: true, initialBackoffMs: 20, maxBackoffMs: 50 },
  });
}

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      // The first delivery is refused once, so the retry is seen end to end.
      res.writeHead(hooks.length === 1 ? 503 : 204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  dataDir = tempDir('palisade-playbooks-api-');
  t = await start();
  for (let i = 0; i < 6; i++) {
    agents.push(
      await SimulatedAgent.register({
        registrationUrl: t.server.registrationUrl,
        caPem: t.server.caPem,
        registrationKey: t.registrationKey,
        host: { hostname: `web-${i}` },
      }),
    );
  }
});
after(async () => {
  await t.stop();
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
  removeTempDir(dataDir);
});

function alertFor(agentId: string, over: Partial<PlaybookAlert> = {}): PlaybookAlert {
  const id = randomUUID();
  return {
    id,
    agentId,
    ruleId: 'rule-miner',
    ruleTitle: 'Crypto miner started',
    tags: ['attack.t1496'],
    severity: 'high',
    finding: {
      class_uid: 2004,
      finding_info: { uid: id, title: 'Crypto miner started', analytic: { uid: 'rule-miner' } },
      severity_id: 4,
      evidences: [
        {
          process: {
            pid: 4242,
            created_time: 1_764_000_000_000,
            name: 'xmrig',
            file: { path: '/tmp/.x/xmrig' },
          },
        },
      ],
    },
    ...over,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests probe the JSON freely
async function runs(alertId: string): Promise<any[]> {
  const r = await t.api('GET', `/api/v1/playbook-runs?alert_id=${alertId}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.runs;
}

async function create(body: Record<string, unknown>) {
  const r = await t.api('POST', '/api/v1/playbooks', { body });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json;
}

describe('playbooks API', () => {
  test('create, list, show, disable, enable, delete; the webhook secret is shown once; all audit-logged', async () => {
    const made = await create({
      name: 'notify-siem',
      description: 'every high alert to the SIEM',
      match: { min_severity: 'high' },
      actions: [{ type: 'webhook', url: 'https://siem.example/in' }],
      enabled: false,
    });
    assert.match(made.webhook_secret, /^pwh_[0-9A-Za-z]{40}$/);
    assert.equal(made.playbook.enabled, false);
    assert.equal(made.playbook.has_webhook_secret, true);
    const shown = await t.api('GET', '/api/v1/playbooks/notify-siem');
    assert.equal(shown.status, 200);
    assert.equal(JSON.stringify(shown.json).includes(made.webhook_secret), false);
    assert.equal(
      (await t.api('GET', `/api/v1/playbooks/${made.playbook.id}`)).json.playbook.name,
      'notify-siem',
    );
    const listed = await t.api('GET', '/api/v1/playbooks');
    assert.ok(listed.json.playbooks.some((p: { id: string }) => p.id === made.playbook.id));
    const on = await t.api('POST', '/api/v1/playbooks/notify-siem/enable', { body: { dry_run: true } });
    assert.deepEqual([on.json.playbook.enabled, on.json.playbook.dry_run], [true, true]);
    const off = await t.api('POST', '/api/v1/playbooks/notify-siem/disable', { body: {} });
    assert.equal(off.json.playbook.enabled, false);
    assert.equal((await t.api('DELETE', '/api/v1/playbooks/notify-siem')).status, 200);
    assert.equal((await t.api('GET', '/api/v1/playbooks/notify-siem')).status, 404);
    const audit = await t.api('GET', `/api/v1/audit?target=${made.playbook.id}`);
    assert.deepEqual(audit.json.entries.map((e: { action: string }) => e.action).sort(), [
      'playbook.create',
      'playbook.delete',
      'playbook.disable',
      'playbook.enable',
    ]);
  });

  test('bad input: an unknown action, a bad URL, an unknown field, a taken name; nothing is stored', async () => {
    const before = (await t.api('GET', '/api/v1/playbooks')).json.playbooks.length;
    const bad = async (body: unknown, status: number, msg: RegExp) => {
      const r = await t.api('POST', '/api/v1/playbooks', { body });
      assert.equal(r.status, status, JSON.stringify(r.json));
      assert.match(r.json.error.message, msg);
    };
    await bad(
      { name: 'x', match: { rule_ids: ['r'] }, actions: [{ type: 'format_disk' }] },
      400,
      /actions\[0\]\.type: "format_disk" is not an action/,
    );
    await bad(
      { name: 'x', actions: [{ type: 'webhook', url: 'http://siem.example/in' }] },
      400,
      /not loopback; use https/,
    );
    await bad(
      { name: 'x', actions: [{ type: 'webhook', url: 'https://s.example' }], colour: 1 },
      400,
      /colour/,
    );
    await bad(
      { name: 'x', match: {}, actions: [{ type: 'isolate' }] },
      400,
      /must name the rule_ids or tags/,
    );
    await create({ name: 'taken', actions: [{ type: 'webhook', url: 'https://s.example' }], enabled: false });
    await bad(
      { name: 'taken', actions: [{ type: 'webhook', url: 'https://s.example' }] },
      409,
      /already exists/,
    );
    assert.equal((await t.api('GET', '/api/v1/playbooks')).json.playbooks.length, before + 1);
    assert.equal((await t.api('DELETE', '/api/v1/playbooks/taken')).status, 200);
    assert.equal((await t.api('POST', '/api/v1/playbooks/nope/enable', { body: {} })).status, 404);
  });

  test('a viewer may read playbooks but not create them', async () => {
    const tok = await t.api('POST', '/api/v1/tokens', { body: { name: 'v', role: 'viewer' } });
    const viewer = tok.json.secret as string;
    assert.equal((await t.api('GET', '/api/v1/playbooks', { token: viewer })).status, 200);
    const r = await t.api('POST', '/api/v1/playbooks', {
      token: viewer,
      body: { name: 'x', actions: [{ type: 'webhook', url: 'https://s.example' }] },
    });
    assert.equal(r.status, 403);
  });
});

describe('playbook runs', () => {
  test('a matching alert isolates, kills the evidence process and quarantines its file as the playbook; the webhook arrives signed after a retry', async () => {
    const made = await create({
      name: 'contain-miners',
      match: { rule_ids: ['rule-miner'], min_severity: 'medium' },
      actions: [
        { type: 'isolate' },
        { type: 'kill_process', tree: true },
        { type: 'quarantine_file' },
        { type: 'webhook', url: hookUrl },
      ],
      max_isolations_per_hour: 2,
    });
    const a = alertFor(agents[0]!.agentId);
    const summary = await t.server.playbooks.onAlert(a);
    assert.equal(summary?.runs.length, 1);
    await t.server.playbooks.idle();
    const [run] = await runs(a.id);
    assert.equal(run.playbook_name, 'contain-miners');
    assert.deepEqual(
      run.steps.map((s: { type: string; status: string }) => `${s.type}:${s.status}`),
      ['isolate:issued', 'kill_process:issued', 'quarantine_file:issued', 'webhook:sent'],
    );
    assert.equal(run.steps[3].attempts, 2);
    const cmds = await Promise.all(
      run.steps
        .slice(0, 3)
        .map((s: { command_id: string }) => t.api('GET', `/api/v1/commands/${s.command_id}`)),
    );
    const [iso, kill, quar] = cmds.map((c) => c.json.command);
    assert.equal(iso.type, 'isolate');
    assert.equal(iso.requested_by.name, 'playbook contain-miners');
    assert.match(iso.reason, /playbook contain-miners: alert .* \(rule rule-miner: Crypto miner started\)/);
    assert.deepEqual(
      [kill.params.pid, kill.params.start_time_ms, kill.params.tree],
      [4242, 1_764_000_000_000, true],
    );
    assert.equal(quar.params.path, '/tmp/.x/xmrig');
    // The webhook: the finding, signed with the secret shown at creation, the same on the retry.
    assert.equal(hooks.length, 2);
    for (const h of hooks)
      assert.ok(verifySignature(made.webhook_secret, h.body, h.headers[SIGNATURE_HEADER] as string));
    const doc = JSON.parse(hooks[1]!.body);
    assert.equal(doc.alert_id, a.id);
    assert.deepEqual(doc.finding, a.finding);
    assert.equal(doc.playbook.name, 'contain-miners');
    // Audit: the commands name the playbook as actor and source; the run is logged on the alert.
    const audit = await t.api('GET', `/api/v1/audit?target=${a.id}`);
    assert.deepEqual(
      audit.json.entries.map((e: { action: string }) => e.action),
      ['playbook.run'],
    );
    assert.equal(
      audit.json.entries[0].actor.name ?? audit.json.entries[0].actor_name,
      'playbook contain-miners',
    );
    const cmdAudit = await t.api('GET', `/api/v1/audit?action=command.isolate&target=${agents[0]!.agentId}`);
    assert.equal(cmdAudit.json.entries[0].details.source, `playbook:${made.playbook.id}`);
    // The same alert again (folded): the playbook does not run twice.
    assert.equal((await t.server.playbooks.onAlert(a))?.runs.length, 0);
    assert.equal((await runs(a.id)).length, 1);
    const byPlaybook = await t.api('GET', '/api/v1/playbooks/contain-miners/runs');
    assert.equal(byPlaybook.json.runs.length, 1);
    // Alerts it does not match: another rule, a lower severity.
    assert.equal(
      (await t.server.playbooks.onAlert(alertFor(agents[1]!.agentId, { ruleId: 'other' })))?.runs.length,
      0,
    );
    assert.equal(
      (await t.server.playbooks.onAlert(alertFor(agents[1]!.agentId, { severity: 'low' })))?.runs.length,
      0,
    );
  });

  test('a dry run records what it would do and does nothing', async () => {
    await t.api('POST', '/api/v1/playbooks/contain-miners/disable', { body: {} });
    await create({
      name: 'dry-miners',
      dry_run: true,
      match: { tags: ['attack.t1496'] },
      actions: [{ type: 'isolate' }, { type: 'kill_process' }, { type: 'webhook', url: hookUrl }],
    });
    const sent = hooks.length;
    const agent = agents[1]!.agentId;
    const a = alertFor(agent);
    await t.server.playbooks.onAlert(a);
    await t.server.playbooks.idle();
    const [run] = await runs(a.id);
    assert.equal(run.dry_run, true);
    assert.deepEqual(
      run.steps.map((s: { status: string; detail: string }) => `${s.status}: ${s.detail}`),
      [
        `would_run: would isolate host web-1`,
        'would_run: would kill process pid 4242 (xmrig)',
        `would_run: would POST to ${new URL(hookUrl).origin}`,
      ],
    );
    assert.equal(hooks.length, sent);
    const cmds = await t.api('GET', `/api/v1/commands?agent_id=${agent}`);
    assert.equal(cmds.json.commands.length, 0);
    await t.api('DELETE', '/api/v1/playbooks/dry-miners');
  });

  test('isolation limits hold per playbook and across the fleet, and across a server restart', async () => {
    // contain-miners isolated once (max 2 per hour); a second playbook shares the fleet limit (3).
    await t.api('POST', '/api/v1/playbooks/contain-miners/enable', { body: {} });
    await create({
      name: 'isolate-miners-too',
      match: { rule_ids: ['rule-miner'] },
      actions: [{ type: 'isolate' }],
      max_isolations_per_hour: 10,
    });
    const a2 = alertFor(agents[2]!.agentId);
    const s2 = await t.server.playbooks.onAlert(a2);
    // Alert 2: contain-miners isolates (its 2nd); isolate-miners-too is refused by the response
    // service (host already asked to isolate) and does not count.
    assert.deepEqual(
      s2?.runs.map((r) => `${r.playbookName}:${r.steps[0]!.status}`),
      ['contain-miners:issued', 'isolate-miners-too:refused'],
    );
    const s3 = await t.server.playbooks.onAlert(alertFor(agents[3]!.agentId));
    assert.deepEqual(
      s3?.runs.map((r) => `${r.playbookName}:${r.steps[0]!.status}`),
      ['contain-miners:rate_limited', 'isolate-miners-too:issued'],
    );
    assert.match(
      s3!.runs[0]!.steps[0]!.detail,
      /playbook isolation limit reached: 2 isolations in the last hour \(max_isolations_per_hour 2\)/,
    );
    // The other actions of a run whose isolation was limited still ran.
    assert.equal(s3!.runs[0]!.steps[1]!.status, 'issued');
    await t.server.playbooks.idle();
    // Three isolations by playbooks this hour: the fleet limit. It holds after a restart.
    await t.stop();
    t = await start();
    const s4 = await t.server.playbooks.onAlert(alertFor(agents[4]!.agentId));
    assert.deepEqual(
      s4?.runs.map((r) => r.steps[0]!.status),
      ['rate_limited', 'rate_limited'],
    );
    assert.match(
      s4!.runs[1]!.steps[0]!.detail,
      /fleet isolation limit reached: playbooks isolated 3 hosts in the last hour \(the server allows 3\)/,
    );
    const audit = await t.api('GET', `/api/v1/audit?target=${s4!.alertId}`);
    assert.deepEqual(
      audit.json.entries.map((e: { outcome: string }) => e.outcome),
      ['denied', 'denied'],
    );
    await t.server.playbooks.idle();
  });

  test('the run limit stops a playbook that fires too often', async () => {
    await t.api('POST', '/api/v1/playbooks/contain-miners/disable', { body: {} });
    await t.api('POST', '/api/v1/playbooks/isolate-miners-too/disable', { body: {} });
    await create({
      name: 'hook-twice',
      match: { tags: ['attack.t1496'] },
      actions: [{ type: 'webhook', url: hookUrl }],
      max_runs_per_hour: 2,
    });
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await t.server.playbooks.onAlert(alertFor(agents[5]!.agentId));
      statuses.push(s!.runs[0]!.steps[0]!.status);
    }
    assert.deepEqual(statuses, ['queued', 'queued', 'rate_limited']);
    await t.server.playbooks.idle();
  });
});

describe('playbooks on the alert bus', () => {
  test("an alert detection stores and publishes runs the matching playbook with its evidence; its webhook sends the alert's Detection Finding (OCSF 2004, as the alerts API renders it); a fold does not run it again", async () => {
    const made = await create({
      name: 'kill-user-exec',
      match: { tags: ['attack.t1204.002'], min_severity: 'high' },
      actions: [{ type: 'kill_process' }, { type: 'quarantine_file' }, { type: 'webhook', url: hookUrl }],
    });
    const agentId = agents[5]!.agentId;
    const cursor = await t.server.storage.detectionCursor();
    const candidate = newAlertFixture(agentId, {
      id: randomUUID(),
      ruleId: 'rule-user-exec',
      techniques: ['T1204.002'],
      tactics: ['execution'],
      evidence: [evidenceFixture(agentId, Date.now(), { ruleId: 'rule-user-exec' })],
    });
    const commit = {
      from: cursor.batchId,
      to: cursor.batchId,
      alerts: [candidate],
      groupWindowMs: 3_600_000,
      at: Date.now(),
    };
    const changes = await t.server.storage.commitDetections(commit);
    assert.deepEqual(
      changes.map((c) => c.change),
      ['created'],
    );
    t.server.alerts.publish(changes);
    const alertId = changes[0]!.alert.id;
    const run = await waitFor('the run on the published alert and its webhook', async () => {
      const r = (await runs(alertId))[0];
      return r?.steps[2]?.status === 'sent' ? r : undefined;
    });
    assert.deepEqual(
      run.steps.map((s: { type: string; status: string }) => `${s.type}:${s.status}`),
      ['kill_process:issued', 'quarantine_file:issued', 'webhook:sent'],
    );
    // One rendering: the webhook's finding is the alert as GET /api/v1/alerts/ID shows it, and it
    // validates as an OCSF Detection Finding.
    const hook = hooks.find((h) => JSON.parse(h.body).alert_id === alertId);
    assert.ok(hook, 'the webhook arrived');
    assert.ok(verifySignature(made.webhook_secret, hook.body, hook.headers[SIGNATURE_HEADER] as string));
    const sent = JSON.parse(hook.body).finding;
    const shown = await t.api('GET', `/api/v1/alerts/${alertId}`);
    assert.equal(shown.status, 200, JSON.stringify(shown.json));
    assert.deepEqual(sent, shown.json.alert);
    assert.equal(sent.class_uid, 2004);
    // The shared OCSF copy holds the Detection Finding class but not its parent (`finding`): the
    // validator checks the class's own attributes (the evidences, deeply) and reports the parent's
    // top-level ones as unknown; those must at least be attributes of the OCSF dictionary.
    const dictionary = JSON.parse(readFileSync(join(OCSF_DIR, 'dictionary.json'), 'utf8')).attributes;
    const validator = new OcsfValidator();
    const problems = (doc: Record<string, unknown>) =>
      validator.validate(doc).filter((p) => {
        const top = /^(\w+): not an attribute of this class$/.exec(p)?.[1];
        return !(top && top in dictionary);
      });
    assert.deepEqual(problems(sent), []);
    assert.notDeepEqual(problems({ ...sent, evidences: [{ process: { pid: 'x', colour: 1 } }] }), []);
    const kill = (await t.api('GET', `/api/v1/commands/${run.steps[0].command_id}`)).json.command;
    assert.deepEqual(
      [kill.params.pid, kill.params.start_time_ms],
      [4242, candidate.evidence[0]!.process!.startTimeMs],
    );
    const quar = (await t.api('GET', `/api/v1/commands/${run.steps[1].command_id}`)).json.command;
    assert.equal(quar.params.path, '/tmp/x');
    // A fold of the same alert is published too: the playbook does not run again.
    const folded = await t.server.storage.commitDetections({
      ...commit,
      alerts: [{ ...candidate, id: randomUUID() }],
      at: Date.now(),
    });
    assert.deepEqual(
      folded.map((c) => c.change),
      ['folded'],
    );
    t.server.alerts.publish(folded);
    await t.server.playbooks.idle();
    assert.equal((await runs(alertId)).length, 1);
  });
});
