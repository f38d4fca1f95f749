// Playbooks end to end (root): a real server in a "backend" namespace, a real agent (eBPF sensor,
// nftables isolation) in an "endpoint" namespace, a webhook receiver (HTTPS) in an "other" host.
// A program run from /dev/shm at the endpoint is seen by the real sensor; the alert for it is handed
// to the server's alert hook with that real event as evidence (the detection worker that raises
// alerts by itself is not in the server yet), and the playbooks isolate the host, kill the process,
// quarantine its file and send a signed webhook; a dry-run playbook only records; the fleet
// isolation limit holds. Everything the test makes goes at the end, also when it fails.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
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

function alertOf(ruleId: string, title: string, tags: string[], severity: string, event: Json): Json {
  const id = randomUUID();
  return {
    id,
    agentId: L.agentId,
    ruleId,
    ruleTitle: title,
    tags,
    severity,
    finding: {
      class_uid: 2004,
      activity_id: 1,
      severity_id: severity === 'high' ? 4 : 3,
      finding_info: { uid: id, title, analytic: { uid: ruleId, name: title } },
      evidences: [{ process: event.process }],
    },
  };
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
  await L.json(['playbooks', 'create', 'contain-tmp', '--rule', TMP_RULE, '--isolate']);
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
  assert.deepEqual(listed.map((p) => p.name).sort(), ['contain-shm', 'contain-tmp', 'watch-shm']);
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
  const alert = alertOf(
    SHM_RULE,
    'Program Run from /dev/shm',
    ['attack.defense-evasion', 'attack.t1036.005', 'attack.execution', 'attack.t1204.002'],
    'high',
    ev,
  );
  const ran = await L.alert(alert);
  assert.deepEqual(ran.runs.map((r: Json) => r.playbook).sort(), ['contain-shm', 'watch-shm']);

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
    const r: Json[] = await L.json(['playbooks', 'runs', '--alert', alert.id]);
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
  assert.equal(doc.alert_id, alert.id);
  assert.equal(doc.finding.evidences[0].process.pid, ev.process.pid);
  assert.equal(doc.agent.id, L.agentId);

  // Audit: the run on the alert, the commands with the playbook as their source.
  const audit: Json[] = (await L.json(['audit', 'search', '--target', alert.id])).entries;
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
  // Another alert on the host, for another rule with its own isolating playbook: the server
  // allows 1 playbook isolation per hour across the fleet, contain-shm used it.
  const tmpDir = join('/tmp', `palisade-e2e-${RUN}`);
  mkdirSync(tmpDir, { mode: 0o700 });
  try {
    const prog = join(tmpDir, 'tool');
    copyFileSync('/bin/true', prog);
    chmodSync(prog, 0o755);
    await L.lab.exec(L.endpoint, [prog]);
    const ev = await processEvent(prog);
    const alert = alertOf(
      TMP_RULE,
      'Program Run from /tmp',
      ['attack.execution', 'attack.t1204.002'],
      'medium',
      ev,
    );
    const ran = await L.alert(alert);
    assert.deepEqual(
      ran.runs.map((x: Json) => x.playbook),
      ['contain-tmp'],
    );
    const step = ran.runs[0].steps[0];
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
