import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AlertChange, Storage } from '@palisade/storage';
import { conformanceFixtures as fx } from '@palisade/storage/testing';
import { waitFor } from '@palisade/testkit';
import { startTestServer } from '../testing/harness.js';

const EXEC_FROM_TMP = '7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e14';
const MATCH_ALL = 'f0000000-0000-4000-8000-00000000a11a';

const matchAllRule = `title: Matches every launch
id: ${MATCH_ALL}
status: test
logsource:
  category: process_creation
  product: linux
detection:
  selection:
    Image|contains: '/'
  condition: selection
level: low
`;

async function seedAgent(s: Storage): Promise<string> {
  const g = fx.groupFixture();
  await s.createGroup(g);
  const k = fx.keyFixture(g.id);
  await s.createKey(k);
  const a = fx.agentFixture(g.id, k.id);
  await s.createAgent(a);
  return a.id;
}

describe('detection worker', () => {
  it('turns stored events into alerts with evidence, folds repeats, contains a match-everything rule, and survives a restart without loss or duplicates', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'palisade-detect-'));
    const extra = mkdtempSync(join(tmpdir(), 'palisade-rules-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(extra, { recursive: true, force: true });
    });
    writeFileSync(join(extra, 'match_all.yml'), matchAllRule);
    const opts = { dataDir, keepDir: true, detection: { idleMs: 20, rulesDirs: [extra] } };
    let ts = await startTestServer(opts);
    t.after(() => ts.stop());
    const seen: AlertChange[] = [];
    ts.server.alerts.onAlert((c) => {
      seen.push(c);
    });
    const statuses = ts.server.detection!.ruleStatuses();
    assert.ok(statuses.some((s) => s.id === EXEC_FROM_TMP && s.state === 'loaded'));
    assert.ok(statuses.some((s) => s.id === MATCH_ALL && s.state === 'loaded'));

    const agent = await seedAgent(ts.server.storage);
    const benign = Array.from({ length: 300 }, (_, i) => fx.processEvent(i));
    await ts.server.storage.storeBatches([
      fx.batch(agent, 1, [...benign, fx.processEvent(400, { cmd: '/tmp/dropper --connect' })]),
    ]);
    const alertOf = async (ruleId: string) =>
      (await ts.server.storage.listAlerts({ limit: 10, ruleId })).alerts;
    const [first] = await waitFor(
      'the /tmp alert',
      async () => (await alertOf(EXEC_FROM_TMP))[0] && alertOf(EXEC_FROM_TMP),
    );
    assert.equal(first!.count, 1);
    assert.equal(first!.agentId, agent);
    const ev = first!.evidence[0]!;
    assert.equal(ev.process?.path, '/tmp/dropper');
    assert.equal(ev.process?.pid, 4400);
    assert.equal(ev.process?.uid, '1000');
    assert.equal(typeof ev.process?.startTimeMs, 'number');
    assert.equal(ev.parentProcess?.path, '/usr/bin/bash');
    const [stored] = await ts.server.storage.getEvents([ev.eventId!]);
    assert.equal(stored?.event.process?.cmdLine, '/tmp/dropper --connect');
    assert.deepEqual(first!.techniques, ['T1204.002']);
    assert.deepEqual(first!.tactics, ['execution']);
    assert.ok(seen.some((c) => c.change === 'created' && c.alert.ruleId === EXEC_FROM_TMP));
    // The match-everything rule is one row however many events it matched (folding; the engine
    // suspends it once it matches most of a window).
    const flood = await alertOf(MATCH_ALL);
    assert.equal(flood.length, 1);
    assert.ok(flood[0]!.count >= 1 && flood[0]!.evidence.length <= 20);

    await ts.server.storage.storeBatches([
      fx.batch(agent, 2, [fx.processEvent(401, { cmd: '/tmp/dropper again' })]),
    ]);
    await waitFor('the repeat folded', async () => (await alertOf(EXEC_FROM_TMP))[0]?.count === 2);

    // Restart: batches stored while detection is down are evaluated once after it comes back.
    await ts.server.close();
    ts = await startTestServer(opts);
    await ts.server.storage.storeBatches([
      fx.batch(agent, 3, [fx.processEvent(402, { cmd: '/tmp/dropper third' })]),
    ]);
    await waitFor('the third repeat', async () => (await alertOf(EXEC_FROM_TMP))[0]?.count === 3);
    await waitFor('no lag', async () => (await ts.server.storage.detectionLag()).batches === 0);
    const all = await alertOf(EXEC_FROM_TMP);
    assert.equal(all.length, 1);
    assert.equal(all[0]!.count, 3);
    assert.equal(all[0]!.evidence.length, 3);
    assert.equal(new Set(all[0]!.evidence.map((e) => e.eventId)).size, 3);
  });

  it('reports a broken rule file with its reason and keeps detecting with the others', async (t) => {
    const extra = mkdtempSync(join(tmpdir(), 'palisade-rules-'));
    t.after(() => rmSync(extra, { recursive: true, force: true }));
    writeFileSync(join(extra, 'broken.yml'), 'title: [unclosed\n');
    const ts = await startTestServer({ detection: { idleMs: 20, rulesDirs: [extra] } });
    t.after(() => ts.stop());
    const bad = ts.server.detection!.ruleStatuses().filter((s) => s.file.endsWith('broken.yml'));
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.state, 'error');
    assert.ok(bad[0]!.reason && bad[0]!.reason.length > 0);
    const agent = await seedAgent(ts.server.storage);
    await ts.server.storage.storeBatches([fx.batch(agent, 1, [fx.processEvent(1, { cmd: '/tmp/x' })])]);
    await waitFor(
      'an alert',
      async () =>
        (await ts.server.storage.listAlerts({ limit: 5, ruleId: EXEC_FROM_TMP })).alerts.length === 1,
    );
  });

  it('serves alerts as OCSF Detection Findings through the API, with evidence events and audited triage', async (t) => {
    const ts = await startTestServer({ detection: { idleMs: 20 } });
    t.after(() => ts.stop());
    const agent = await seedAgent(ts.server.storage);
    await ts.server.storage.storeBatches([
      fx.batch(agent, 1, [fx.processEvent(1, { cmd: '/tmp/implant -d' })]),
    ]);
    const list = await waitFor('the alert in the API', async () => {
      const r = await ts.api('GET', `/api/v1/alerts?rule_id=${EXEC_FROM_TMP}&status=new&severity=medium`);
      return r.json.alerts?.length === 1 && r;
    });
    assert.equal(list.status, 200);
    const f = list.json.alerts[0];
    assert.equal(f.class_uid, 2004);
    assert.equal(f.device.uid, agent);
    assert.equal(f.finding_info.analytic.uid, EXEC_FROM_TMP);
    assert.equal(f.evidences[0].process.file.path, '/tmp/implant');
    assert.equal(f.finding_info.analytic.type, 'Rule');
    assert.deepEqual(f.finding_info.attacks[0], { technique: { uid: 'T1204.002' } });
    const one = await ts.api('GET', `/api/v1/alerts/${f.finding_info.uid}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.events.length, 1);
    assert.equal(one.json.events[0].process.cmd_line, '/tmp/implant -d');
    const patched = await ts.api('PATCH', `/api/v1/alerts/${f.finding_info.uid}`, {
      body: { status: 'resolved', assignee: 'alice', comment: 'test binary' },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.alert.status, 'Resolved');
    const audit = await ts.server.storage.searchAudit({ limit: 10, action: 'alert.update' });
    assert.ok(audit.entries.some((e) => e.targetId === f.finding_info.uid));
    assert.equal(
      (await ts.api('PATCH', `/api/v1/alerts/${f.finding_info.uid}`, { body: { status: 'bogus' } })).status,
      400,
    );
    assert.equal((await ts.api('PATCH', `/api/v1/alerts/${f.finding_info.uid}`, { body: {} })).status, 400);
    assert.equal((await ts.api('GET', '/api/v1/alerts/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await ts.api('GET', '/api/v1/alerts?cursor=zzz')).status, 400);
    const rules = await ts.api('GET', '/api/v1/rules');
    assert.ok(
      rules.json.rules.some(
        (r: { id: string; state: string }) => r.id === EXEC_FROM_TMP && r.state === 'loaded',
      ),
    );
    assert.ok(!rules.json.rules.some((r: { id: string }) => r.id === MATCH_ALL));
    // A rule dropped into DATA-DIR/rules runs after a reload, without a restart.
    writeFileSync(join(ts.dataDir, 'rules', 'match_all.yml'), matchAllRule);
    const reloaded = await ts.api('POST', '/api/v1/rules/reload');
    assert.equal(reloaded.status, 200);
    assert.ok(
      reloaded.json.rules.some(
        (r: { id: string; state: string }) => r.id === MATCH_ALL && r.state === 'loaded',
      ),
    );
    await ts.server.storage.storeBatches([fx.batch(agent, 2, [fx.processEvent(2)])]);
    await waitFor(
      'the new rule fires',
      async () => (await ts.server.storage.listAlerts({ limit: 5, ruleId: MATCH_ALL })).alerts.length === 1,
    );
    const status = await ts.api('GET', '/api/v1/detection/status');
    assert.equal(status.status, 200);
    assert.equal(typeof status.json.lag_events, 'number');
  });
});
