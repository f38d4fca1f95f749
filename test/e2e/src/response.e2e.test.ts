// Response end to end (root): a real server in a "backend" namespace, a real agent (eBPF sensor,
// nftables isolation) in an "endpoint" namespace, and an "other" host with TCP and UDP echo and a
// DNS server, all on one IPv4+IPv6 LAN the test creates. Isolation rules are applied by the
// agent inside the endpoint namespace only (the agent refuses the root namespace in test runs);
// every namespace, table and process goes at the end, also when a test fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OcsfValidator, run, tempDir, waitFor } from '@palisade/testkit';
import {
  BACKEND_NAME,
  ENDPOINT_TCP,
  ENDPOINT_UDP,
  OTHER_TCP,
  OTHER_UDP,
  ResponseLab,
  SELF_TEST_S,
} from './response-lab.test-util.js';

// biome-ignore lint/suspicious/noExplicitAny: tests probe the CLI's JSON freely
type Json = any;

const L = new ResponseLab();
const RUN = `resp${randomBytes(4).toString('hex')}`;
const validator = new OcsfValidator();

before(async () => {
  await L.start();
  await L.startAgent();
});

after(async () => {
  await L.cleanup();
  // The machine's own namespace never had a table of ours.
  assert.doesNotMatch((await run('nft', ['list', 'tables'])).out, /palisade/);
});

async function command(id: string): Promise<Json> {
  return L.json(['commands', 'show', id]);
}

async function isolation(): Promise<Json> {
  return (await L.json(['agents', 'show', L.agentId])).isolation;
}

async function act(args: string[], wait = true): Promise<Json> {
  const r = await L.cli(['agents', ...args, ...(wait ? ['--wait', '--timeout', '60'] : []), '--json']);
  assert.ok(r.stdout, `palisade agents ${args.join(' ')}: ${r.stderr}`);
  return { ...JSON.parse(r.stdout), exitCode: r.code, stderr: r.stderr };
}

async function searchEvents(args: string[]): Promise<Json[]> {
  return L.json(['events', 'search', '--agent', L.agentId, '--limit', '200', ...args]);
}

async function remediationEvent(klass: string, commandId: string): Promise<Json> {
  const e = await waitFor(
    `the ${klass} event of ${commandId}`,
    async () => (await searchEvents(['--class', klass])).find((x) => x.command_uid === commandId),
    30_000,
  );
  assert.deepEqual(validator.validate(e), [], JSON.stringify(e));
  return e;
}

test('isolate (root, network namespaces): backend and DNS reachable, everything else cut both ways over TCP, UDP and ICMP, v4 and v6; old connections cut; telemetry flows', async () => {
  const { en, on, other, backend, endpoint } = L;
  assert.equal(await L.reachesOther(), true, 'open before');
  const out = await en.hold(other.v4, OTHER_TCP);
  const inbound = await on.hold(endpoint.v6, ENDPOINT_TCP);
  assert.equal(out.ok && inbound.ok, true);

  const c = await act(['isolate', L.agentId, '--reason', `e2e ${RUN}`]);
  assert.equal(c.state, 'succeeded', JSON.stringify(c));
  assert.equal(c.exitCode, 0);
  assert.ok((await L.tables()).includes('inet palisade_isolation'));
  const iso = await isolation();
  assert.equal(iso.status, 'isolated');
  assert.equal(iso.desired.isolated, true);
  assert.equal(iso.actual.state, 'isolated');
  assert.deepEqual(
    [...iso.actual.allowed_addresses].sort(),
    [7443, 7444, 7445, 7446].flatMap((p) => [`${backend.v4} ${p}`, `${backend.v6} ${p}`]).sort(),
  );

  // Allowed: the backend (v4 and v6), DNS to the other host (UDP and TCP, v4 and v6).
  for (const addr of [backend.v4, backend.v6]) {
    for (const port of [7443, 7444, 7445, 7446])
      assert.equal((await en.connect(addr, port)).ok, true, `backend ${addr} ${port}`);
  }
  for (const server of [other.v4, other.v6]) {
    assert.equal((await en.dns(server, BACKEND_NAME, 'A')).answers, 1, `dns udp via ${server}`);
    assert.equal((await en.dns(server, BACKEND_NAME, 'AAAA', true)).answers, 1, `dns tcp via ${server}`);
  }
  // Everything else, both directions.
  for (const addr of [other.v4, other.v6]) {
    assert.equal((await en.tcp(addr, OTHER_TCP, 700)).ok, false, `tcp out ${addr}`);
    assert.equal((await en.udp(addr, OTHER_UDP, 700)).ok, false, `udp out ${addr}`);
    assert.equal(await L.ping(endpoint, addr), false, `ping out ${addr}`);
  }
  for (const addr of [endpoint.v4, endpoint.v6]) {
    assert.equal((await on.tcp(addr, ENDPOINT_TCP, 700)).ok, false, `tcp in ${addr}`);
    assert.equal((await on.udp(addr, ENDPOINT_UDP, 700)).ok, false, `udp in ${addr}`);
    assert.equal(await L.ping(other, addr), false, `ping in ${addr}`);
  }
  // The connection opened before isolation is cut, not left alive through conntrack.
  const held = await en.held(Number(out.hold));
  assert.equal(held.closed, true, JSON.stringify(held));
  assert.equal((await on.exchange(Number(inbound.hold), 700)).ok, false);

  // Telemetry keeps flowing: an exec at the endpoint is searchable.
  const marker = `${RUN}-isolated`;
  await L.lab.exec(endpoint, ['/bin/echo', marker]);
  await waitFor(
    'the exec at the isolated endpoint',
    async () => (await searchEvents(['--class', 'process', '--contains', marker])).length > 0,
    60_000,
  );
  const ev = await remediationEvent('network-remediation', c.id);
  assert.equal(ev.activity_id, 1);
  assert.equal(ev.status_id, 1);
  assert.equal(ev.device.uid, L.agentId);
});

test('restore (root, network namespaces): everything reachable again, the table is gone', async () => {
  const c = await act(['restore', L.agentId, '--reason', 'clean']);
  assert.equal(c.state, 'succeeded', JSON.stringify(c));
  assert.deepEqual(await L.tables(), []);
  const { en, on, other, endpoint } = L;
  for (const addr of [other.v4, other.v6]) {
    assert.equal((await en.tcp(addr, OTHER_TCP)).ok, true, `tcp out ${addr}`);
    assert.equal((await en.udp(addr, OTHER_UDP)).ok, true, `udp out ${addr}`);
    assert.equal(await L.ping(endpoint, addr), true, `ping out ${addr}`);
  }
  assert.equal((await on.tcp(endpoint.v4, ENDPOINT_TCP)).ok, true);
  assert.equal((await isolation()).status, 'not_isolated');
  assert.equal((await remediationEvent('network-remediation', c.id)).activity_id, 3);
});

test('kill-process and quarantine-file (root, network namespaces): the right process dies, a wrong start time kills nothing; a file leaves and comes back with its bytes and mode', async () => {
  // A process at the endpoint, found through its process event as an analyst would.
  const secs = `1000.${randomBytes(3).readUIntBE(0, 3)}`;
  const victim = L.lab.spawn(L.endpoint, ['sleep', secs]);
  const launch = await waitFor(
    'the victim process event',
    async () =>
      (await searchEvents(['--class', 'process', '--contains', secs])).find(
        (e) => e.process?.pid === victim.pid,
      ),
    60_000,
  );
  const { pid, created_time: createdTime } = launch.process;
  const wrong = await act([
    'kill-process',
    L.agentId,
    '--pid',
    String(pid),
    '--start-time',
    String(createdTime - 60_000),
  ]);
  assert.equal(wrong.state, 'failed');
  assert.match(wrong.error, /start_time_mismatch/);
  assert.equal(victim.exitCode, null, 'still running');
  const killed = await act([
    'kill-process',
    L.agentId,
    '--pid',
    String(pid),
    '--start-time',
    new Date(createdTime).toISOString(),
    '--reason',
    'e2e',
  ]);
  assert.equal(killed.state, 'succeeded', JSON.stringify(killed));
  assert.equal(killed.result.process.uid, launch.process.uid);
  await waitFor('the victim to die', () => victim.signalCode === 'SIGKILL');
  assert.equal((await remediationEvent('process-remediation', killed.id)).process.pid, pid);

  // Refused before anything is stored: pid 1, the agent itself, a malformed path, an unknown agent.
  const refusals: [string[], RegExp][] = [
    [['kill-process', L.agentId, '--pid', '1', '--start-time', '1'], /pid: 1 is init/],
    [
      ['kill-process', L.agentId, '--pid', String(L.agent!.child.pid), '--start-time', '1'],
      /Palisade agent itself/,
    ],
    [['quarantine-file', L.agentId, '--path', 'relative/evil'], /not absolute/],
    [['quarantine-file', L.agentId, '--path', '/tmp/../etc/passwd'], /normalized/],
    [['isolate', '00000000-0000-4000-8000-000000000000', '--reason', 'x'], /no agent/],
  ];
  const before = (await L.json(['commands', 'list', '--limit', '1000'])).length;
  for (const [args, msg] of refusals) {
    const r = await L.cli(['agents', ...args]);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, msg, args.join(' '));
  }
  assert.equal((await L.json(['commands', 'list', '--limit', '1000'])).length, before, 'nothing stored');

  const dir = tempDir('palisade-e2e-victim-');
  const path = join(dir, 'payload.sh');
  const bytes = Buffer.from(`#!/bin/sh\necho ${RUN}\n`);
  writeFileSync(path, bytes);
  chmodSync(path, 0o750);
  const q = await act(['quarantine-file', L.agentId, '--path', path, '--reason', 'dropper']);
  assert.equal(q.state, 'succeeded', JSON.stringify(q));
  assert.equal(existsSync(path), false);
  assert.equal(q.result.file.sha256, createHash('sha256').update(bytes).digest('hex'));
  const fe = await remediationEvent('file-remediation', q.id);
  assert.equal(fe.file.path, path);
  const back = await act(['restore-file', L.agentId, '--quarantine-id', q.result.file.quarantine_id]);
  assert.equal(back.state, 'succeeded', JSON.stringify(back));
  assert.deepEqual(readFileSync(path), bytes);
  assert.equal(statSync(path).mode & 0o7777, 0o750);
});

test('isolation survives the agent: isolated at start when asked while stopped; kill -9 leaves the host isolated; the restarted agent reconciles (root, network namespaces)', async () => {
  await L.agent!.stop();
  const c = await act(['isolate', L.agentId, '--reason', 'while stopped'], false);
  assert.equal(c.state, 'pending');
  const pending = await isolation();
  assert.equal(pending.status, 'pending', 'offline: pending');
  assert.ok(pending.pending_since);
  assert.equal(await L.reachesOther(), true, 'not isolated while the agent is stopped');
  await L.startAgent();
  await waitFor('isolated at start', async () => (await command(c.id)).state === 'succeeded', 60_000);
  assert.equal(await L.reachesOther(), false);
  await L.agent!.stop('SIGKILL');
  assert.ok((await L.tables()).includes('inet palisade_isolation'), 'the table outlives the agent');
  assert.equal(await L.reachesOther(), false, 'a crashed agent leaves the host isolated');
  await L.startAgent();
  const iso = await isolation();
  assert.equal(iso.status, 'isolated');
  assert.equal((await L.en.connect(L.backend.v4, 7443)).ok, true);
  assert.equal(await L.reachesOther(), false);
  const r = await act(['restore', L.agentId]);
  assert.equal(r.state, 'succeeded');
});

test('never lock out (root, network namespaces): with the backend unreachable through the rules the agent reverts within the time allowed and says why', async () => {
  await L.agent!.stop();
  // Test-only override (honoured only in test runs): the rules allow a wrong backend address.
  await L.startAgent({ PALISADE_TEST_ISOLATION_BACKEND: '192.0.2.77' });
  try {
    await revertsInTime();
  } finally {
    await L.agent!.stop();
    await L.startAgent();
  }
});

async function revertsInTime(): Promise<void> {
  const t0 = Date.now();
  const c = await act(['isolate', L.agentId, '--reason', 'revert test']);
  const took = Date.now() - t0;
  assert.equal(c.state, 'failed', JSON.stringify(c));
  assert.match(
    c.error,
    /^isolation reverted: backend unreachable through the isolation rules: .*192\.0\.2\.77 7443/,
  );
  assert.ok(took < (SELF_TEST_S + 25) * 1000, `reverted and reported after ${took} ms`);
  assert.deepEqual(await L.tables(), []);
  assert.equal(await L.reachesOther(), true, 'the host is open again');
  const iso = await isolation();
  assert.equal(iso.status, 'reverted');
  assert.match(iso.actual.reason, /isolation reverted/);
  const audit = await L.json([
    'audit',
    'search',
    '--action',
    'agent.isolation_reverted',
    '--target',
    L.agentId,
  ]);
  assert.equal(audit.entries.length, 1);
  assert.match(L.server!.output(), /ALERT: isolation of .* reverted/);
}

test('offline restore code (root, network namespaces): a wrong code does nothing, the right one lifts isolation with the server down; the server learns of it later', async () => {
  const shown = await L.json(['agents', 'restore-code', L.agentId]);
  assert.match(shown.code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
  const c = await act(['isolate', L.agentId, '--reason', 'offline code test']);
  assert.equal(c.state, 'succeeded', JSON.stringify(c));
  await L.server!.stop();
  const wrong = await L.agentRestore('AAAAA-BBBBB-CCCCC-DDDDD');
  assert.equal(wrong.code, 1, wrong.out);
  assert.match(wrong.out, /wrong restore code/);
  assert.ok((await L.tables()).includes('inet palisade_isolation'), 'still isolated');
  const right = await L.agentRestore(shown.code.toLowerCase());
  assert.equal(right.code, 0, right.out);
  assert.match(right.out, /isolation lifted/);
  assert.deepEqual(await L.tables(), []);
  assert.equal(await L.reachesOther(), true);
  await L.startServer();
  await waitFor(
    'the server to learn of the local lift',
    async () =>
      (await L.json(['audit', 'search', '--action', 'agent.isolation_lifted_locally', '--target', L.agentId]))
        .entries.length === 1,
    90_000,
  );
  const iso = await isolation();
  assert.equal(iso.desired.isolated, false);
  assert.equal(iso.status, 'lifted_locally');
  assert.ok(iso.desired.reason.includes(`offline restore code ${shown.code_id}`), iso.desired.reason);
  assert.match((await command(c.id)).state, /succeeded|failed/);
  assert.deepEqual(await L.tables(), [], 'not re-isolated');
});
