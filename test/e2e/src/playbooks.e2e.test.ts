// Playbooks end to end (root): a real server in a "backend" namespace, a real agent (eBPF sensor,
// nftables isolation) in an "endpoint" namespace, a webhook receiver (HTTPS) in an "other" host.
// A program run from /dev/shm at the endpoint is seen by the real sensor, the server's detection
// worker raises the default pack's "Program Run from /dev/shm" alert by itself, and its playbooks
// isolate the host, kill the process, quarantine its file and send a signed webhook carrying the
// alert's Detection Finding; a dry-run playbook only records; the fleet isolation limit holds
// against a second rule that fires. Everything the test makes goes at the end, also when it fails.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run, waitFor } from '@palisade/testkit';
import { PlaybookLab } from './playbook-lab.test-util.js';

// biome-ignore lint/suspicious/noExplicitAny: tests probe the CLI's JSON freely
type Json = any;

const SHM_RULE = '7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e13'; // Program Run from /dev/shm (default pack)
const TMP_RULE = '7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e14'; // Program Run from /tmp
const RUN = `pb${randomBytes(4).toString('hex')}`;
const SHM_DIR = `/dev/shm/palisade-e2e-${RUN}`;
const PAYLOAD = join(SHM_DIR, 'payload');

const L = new PlaybookLab();
let secret = '';

before(async () => {
  mkdirSync(SHM_DIR, { mode: 0o700 });
  await L.start();
  await L.startAgent();
});

after(async () => {
  await L.cleanup();
  rmSync(SHM_DIR, { recursive: true, force: true });
  assert.doesNotMatch((await run('nft', ['list', 'tables'])).out, /palisade/);
});

/** processEvent waits for the sensor's launch event of `path` and returns it (OCSF). */
async function processEvent(path: string): Promise<Json> {
  return waitFor(
    `the launch event of ${path}`,
    async () => {
      const events: Json[] = await L.json([
        'events',
        'search',
        '--agent',
        L.agentId,
        '--class',
        'process',
        '--contains',
        path,
        '--limit',
        '50',
      ]);
      return events.find(
        (e) => e.activity_id === 1 && e.process?.file?.path === path && e.process?.created_time,
      );
    },
    60_000,
  );
}

/**
 * alertOf waits for the alert `ruleId` raised at the endpoint whose evidence is the process `path`
 * (a Detection Finding, as `palisade alerts list` prints it) and for its playbook runs.
 */
async function alertOf(
  ruleId: string,
  path: string,
  playbooks: string[],
): Promise<{ alert: Json; runs: Json[] }> {
  const alert: Json = await waitFor(
    `the alert of rule ${ruleId} for ${path}`,
    async () => {
      const list: Json[] = await L.json(['alerts', 'list', '--agent', L.agentId, '--rule', ruleId]);
      return list.find(
        (a) => a.status_id !== 4 && a.evidences.some((e: Json) => e.process?.file?.path === path),
      );
    },
    60_000,
  );
  const id = alert.finding_info.uid;
  const runs: Json[] = await waitFor(`the playbook runs of alert ${id}`, async () => {
    const r: Json[] = await L.json(['playbooks', 'runs', '--alert', id]);
    return playbooks.every((name) => r.some((x) => x.playbook_name === name)) ? r : undefined;
  });
  return { alert, runs };
}

function stepsOf(runs: Json[], playbook: string): string[] {
  const r = runs.find((x) => x.playbook_name === playbook);
  assert.ok(r, `no run of ${playbook} in ${JSON.stringify(runs)}`);
  return r.steps.map((s: Json) => `${s.type}:${s.status}`);
}

test('playbooks (root, network namespaces): create them with the CLI; bad input is refused with nothing stored', async () => {
  const made = await L.json([
    'playbooks',
    'create',
    'contain-shm',
    '--rule',
    SHM_RULE,
    '--min-severity',
    'high',
    '--isolate',
    '--kill-process',
    '--quarantine-file',
    '--webhook',
    L.webhookUrl,
    '--max-isolations-per-hour',
    '5',
  ]);
  secret = made.webhook_secret;
  assert.match(secret, /^pwh_/);
  await L.json([
    'playbooks',
    'create',
    'watch-shm',
    '--tag',
    'attack.t1036.005',
    '--isolate',
    '--kill-process',
    '--dry-run',
  ]);
  const unknown = await L.cli([
    'playbooks',
    'create',
    'x',
    '--rule',
    SHM_RULE,
    '--webhook',
    'http://example.test/hook',
  ]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /plain http; use https/);
  const listed: Json[] = await L.json(['playbooks', 'list']);
  assert.deepEqual(listed.map((p) => p.name).sort(), ['contain-shm', 'watch-shm']);
  const table = await L.cli(['playbooks', 'list']);
  assert.match(table.stdout, /NAME\s+ID\s+STATE/);
  assert.match(table.stdout, /watch-shm .* dry run/);
});

test('playbooks (root, network namespaces): a program run from /dev/shm: the host is isolated, the process killed, its file quarantined, the webhook arrives signed; the dry run only records', async () => {
  copyFileSync('/bin/sleep', PAYLOAD);
  chmodSync(PAYLOAD, 0o755);
  const payload = L.lab.spawn(L.endpoint, [PAYLOAD, '600']);
  const exited = new Promise<NodeJS.Signals | null>((r) => payload.once('exit', (_c, s) => r(s)));
  assert.equal(await L.reachesOther(), true, 'open before');
  const ev = await processEvent(PAYLOAD);
  // Nothing is handed to the server: its detection worker raises the alert from the stored event.
  const { alert, runs: first } = await alertOf(SHM_RULE, PAYLOAD, ['contain-shm', 'watch-shm']);
  const alertId: string = alert.finding_info.uid;
  assert.equal(alert.finding_info.title, 'Program Run from /dev/shm');
  assert.equal(alert.severity_id, 4);
  assert.deepEqual(first.map((r: Json) => r.playbook_name).sort(), ['contain-shm', 'watch-shm']);

  // The host is isolated by the agent's own nftables table; the other host is out of reach.
  await waitFor(
    'the playbook isolation',
    async () => (await L.json(['agents', 'show', L.agentId])).isolation.status === 'isolated',
    60_000,
  );
  assert.ok((await L.tables()).includes('inet palisade_isolation'));
  assert.equal(await L.reachesOther(), false);
  // The process is killed (its pid and start time came from the sensor's event).
  assert.equal(await exited, 'SIGKILL');
  const runs: Json[] = await waitFor('the webhook outcome', async () => {
    const r: Json[] = await L.json(['playbooks', 'runs', '--alert', alertId]);
    return r
      .find((x) => x.playbook_name === 'contain-shm')
      ?.steps.find((s: Json) => s.type === 'webhook' && s.status !== 'queued')
      ? r
      : undefined;
  });
  assert.deepEqual(stepsOf(runs, 'contain-shm'), [
    'isolate:issued',
    'kill_process:issued',
    'quarantine_file:issued',
    'webhook:sent',
  ]);
  assert.deepEqual(stepsOf(runs, 'watch-shm'), ['isolate:would_run', 'kill_process:would_run']);
  const contain = runs.find((x) => x.playbook_name === 'contain-shm');
  const [iso, kill, quar] = await Promise.all(
    contain.steps.slice(0, 3).map((s: Json) => L.json(['commands', 'show', s.command_id])),
  );
  assert.equal(iso.requested_by.name, 'playbook contain-shm');
  await waitFor(
    'the kill and quarantine to succeed',
    async () => {
      const [k, q] = await Promise.all([
        L.json(['commands', 'show', kill.id]),
        L.json(['commands', 'show', quar.id]),
      ]);
      return k.state === 'succeeded' && q.state === 'succeeded';
    },
    60_000,
  );
  assert.equal(kill.params.pid, ev.process.pid);
  assert.equal(existsSync(PAYLOAD), false, 'the payload is in quarantine');
  // The dry run issued nothing: the only commands are the three of contain-shm.
  const cmds: Json[] = await L.json(['commands', 'list', '--agent', L.agentId]);
  assert.deepEqual(cmds.map((c) => c.id).sort(), [iso.id, kill.id, quar.id].sort());

  // The webhook: refused once by the receiver (503), retried with the same body; the signature
  // checked as the docs tell a receiver to (HMAC-SHA256 of the raw body, constant time).
  const hooks = L.webhooks();
  assert.equal(hooks.length, 2);
  for (const h of hooks) {
    const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(h.body).digest('hex')}`);
    const got = Buffer.from(h.headers['x-palisade-signature'] ?? '');
    assert.ok(want.length === got.length && timingSafeEqual(want, got), 'valid signature');
  }
  assert.equal(hooks[0]!.body, hooks[1]!.body);
  const doc = JSON.parse(hooks[1]!.body);
  assert.equal(doc.alert_id, alertId);
  assert.equal(doc.agent.id, L.agentId);
  // The finding is the alert as the alerts API renders it (one rendering), with the real event.
  const shown = (await L.json(['alerts', 'show', alertId])).alert;
  assert.equal(doc.finding.class_uid, 2004);
  assert.deepEqual(doc.finding.finding_info.analytic, shown.finding_info.analytic);
  assert.deepEqual(doc.finding.evidences[0], shown.evidences[0]);
  assert.equal(doc.finding.evidences[0].process.pid, ev.process.pid);
  assert.equal(doc.finding.evidences[0].process.file.path, PAYLOAD);

  // Audit: the run on the alert, the commands with the playbook as their source.
  const audit: Json[] = (await L.json(['audit', 'search', '--target', alertId])).entries;
  assert.deepEqual(audit.map((e) => e.action).sort(), ['playbook.run', 'playbook.run']);
});

test('playbooks (root, network namespaces): the fleet isolation limit holds; a restore by hand opens the host', async () => {
  const r = await L.cli([
    'agents',
    'restore',
    L.agentId,
    '--reason',
    'e2e: after the playbook',
    '--wait',
    '--timeout',
    '60',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(
    'the host to be open again',
    async () => (await L.reachesOther()) && !(await L.tables()).includes('inet palisade_isolation'),
    30_000,
  );
  // Another rule fires on the host ("Program Run from a Temporary Directory"), with its own
  // isolating playbook: the server allows 1 playbook isolation per hour across the fleet, and
  // contain-shm used it. Open alerts of that rule are resolved first, so this run makes a new one.
  await L.json(['playbooks', 'create', 'contain-tmp', '--rule', TMP_RULE, '--isolate']);
  const open: Json[] = await L.json(['alerts', 'list', '--agent', L.agentId, '--rule', TMP_RULE]);
  for (const a of open.filter((x) => x.status_id !== 4))
    await L.json(['alerts', 'resolve', a.finding_info.uid]);
  const tmpDir = join('/tmp', `palisade-e2e-${RUN}`);
  mkdirSync(tmpDir, { mode: 0o700 });
  try {
    const prog = join(tmpDir, 'tool');
    copyFileSync('/bin/true', prog);
    chmodSync(prog, 0o755);
    await L.lab.exec(L.endpoint, [prog]);
    const { runs } = await alertOf(TMP_RULE, prog, ['contain-tmp']);
    assert.deepEqual(
      runs.map((x: Json) => x.playbook_name),
      ['contain-tmp'],
    );
    const step = runs[0].steps[0];
    assert.equal(step.status, 'rate_limited');
    assert.match(
      step.detail,
      /fleet isolation limit reached: playbooks isolated 1 hosts in the last hour \(the server allows 1\)/,
    );
    assert.equal(await L.reachesOther(), true, 'still open');
    assert.equal((await L.tables()).includes('inet palisade_isolation'), false);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
});
