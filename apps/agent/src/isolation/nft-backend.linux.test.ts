// The nftables backend against real traffic (root). Rules go only into the lab's endpoint
// namespace: NftBackend is always given `netns`, so every nft and ss call runs through
// `ip netns exec <endpoint>`; the root namespace is only ever read.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { run } from '@palisade/testkit';
import { IsolationRefused } from './isolation-backend.js';
import {
  BACKEND_PORT,
  ENDPOINT_TCP,
  ENDPOINT_UDP,
  type IsolationLab,
  OTHER_TCP,
  OTHER_UDP,
  startIsolationLab,
} from './isolation-lab.test-util.js';
import { assertIsolationAllowed } from './netns-guard.linux.js';
import { NftBackend } from './nft-backend.linux.js';
import type { ToolRunner } from './tool-runner.linux.js';

let L: IsolationLab;

before(async () => {
  L = await startIsolationLab();
});
after(async () => {
  await L?.lab.cleanup();
  // The machine's own namespace never gets a table of ours.
  const root = await run('nft', ['list', 'tables']);
  assert.doesNotMatch(root.out, /palisade/);
});

async function ruleset(): Promise<string> {
  const r = await L.lab.exec(L.endpoint, ['nft', 'list', 'ruleset']);
  assert.equal(r.code, 0, r.out);
  return r.out;
}

async function ping(from: IsolationLab['endpoint'], to: string): Promise<boolean> {
  return (await L.lab.exec(from, ['ping', '-c', '1', '-W', '1', to])).code === 0;
}

test('isolation rules (root, network namespace): backend, DNS and ND pass, everything else is cut both ways, other tables are untouched and removal restores the ruleset exactly', async () => {
  const { lab, endpoint, backend, other, en, on } = L;
  // The host's own firewall: a table isolation must never touch.
  for (const argv of [
    ['nft', 'add', 'table', 'inet', 'site_firewall'],
    [
      'nft',
      'add',
      'chain',
      'inet',
      'site_firewall',
      'input',
      '{ type filter hook input priority 10; policy accept; }',
    ],
    ['nft', 'add', 'rule', 'inet', 'site_firewall', 'input', 'tcp', 'dport', '2222', 'counter', 'accept'],
  ]) {
    const r = await lab.exec(endpoint, argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.out}`);
  }
  const before = await ruleset();
  // Connections that exist before isolation: out to the other host, in from it, out to the backend.
  const out = await en.hold(other.v4, OTHER_TCP);
  const out6 = await en.hold(other.v6, OTHER_TCP);
  const inbound = await on.hold(endpoint.v4, ENDPOINT_TCP);
  const toBackend = await en.hold(backend.v4, BACKEND_PORT);
  for (const h of [out, out6, inbound, toBackend]) assert.equal(h.ok, true, JSON.stringify(h));

  const nft = new NftBackend({ netns: endpoint.ns });
  const report = await nft.apply(
    [
      { address: backend.v4, family: 4, port: BACKEND_PORT },
      { address: backend.v6, family: 6, port: BACKEND_PORT },
    ],
    1,
  );
  assert.equal(await nft.isApplied(), true);
  assert.deepEqual((await lab.nftTables(endpoint)).sort(), ['inet palisade_isolation', 'inet site_firewall']);
  assert.ok(report.cutConnections >= 3, `cut ${report.cutConnections}`);

  // The backend, over IPv4 and IPv6, also after the neighbour caches are emptied (ARP, ND).
  await lab.exec(endpoint, ['ip', 'neigh', 'flush', 'all']);
  for (const addr of [backend.v4, backend.v6])
    assert.equal((await en.tcp(addr, BACKEND_PORT)).ok, true, `backend ${addr}`);
  assert.equal((await en.exchange(Number(toBackend.hold))).ok, true, 'the backend connection lives on');
  // DNS to any server, UDP and TCP, IPv4 and IPv6.
  for (const server of [other.v4, other.v6]) {
    assert.equal((await en.dns(server, 'other.lab.test', 'A')).answers, 1, `dns udp ${server}`);
    assert.equal((await en.dns(server, 'other.lab.test', 'AAAA', true)).answers, 1, `dns tcp ${server}`);
  }
  // Nothing else, either direction.
  for (const addr of [other.v4, other.v6]) {
    assert.equal((await en.tcp(addr, OTHER_TCP)).ok, false, `tcp out ${addr}`);
    assert.equal((await en.udp(addr, OTHER_UDP)).ok, false, `udp out ${addr}`);
    assert.equal(await ping(endpoint, addr), false, `ping out ${addr}`);
    assert.equal((await en.tcp(addr, BACKEND_PORT)).ok, false, `backend port on another host ${addr}`);
  }
  for (const addr of [endpoint.v4, endpoint.v6]) {
    assert.equal((await on.tcp(addr, ENDPOINT_TCP, 700)).ok, false, `tcp in ${addr}`);
    assert.equal((await on.udp(addr, ENDPOINT_UDP, 700)).ok, false, `udp in ${addr}`);
    assert.equal(await ping(other, addr), false, `ping in ${addr}`);
  }
  // Connections from before are cut, not left to conntrack: the endpoint's sockets were destroyed.
  for (const h of [out, out6]) {
    const state = await en.held(Number(h.hold));
    assert.equal(state.closed, true, `outbound connection cut: ${JSON.stringify(state)}`);
    assert.equal(state.error, 'ECONNABORTED');
  }
  assert.equal((await on.exchange(Number(inbound.hold), 700)).ok, false, 'inbound connection cut');

  // Applying again replaces the rules atomically: now only the IPv4 backend.
  await nft.apply([{ address: backend.v4, family: 4, port: BACKEND_PORT }], 2);
  assert.equal((await en.tcp(backend.v4, BACKEND_PORT)).ok, true);
  assert.equal((await en.tcp(backend.v6, BACKEND_PORT)).ok, false);
  assert.equal((await ruleset()).match(/table inet palisade_isolation/g)?.length, 1);

  await nft.remove();
  assert.equal(await ruleset(), before, 'removal restores the ruleset exactly');
  assert.equal(await nft.isApplied(), false);
  await nft.remove(); // twice is harmless
  for (const addr of [other.v4, other.v6]) {
    assert.equal((await en.tcp(addr, OTHER_TCP)).ok, true, `tcp out again ${addr}`);
    assert.equal((await en.udp(addr, OTHER_UDP)).ok, true, `udp out again ${addr}`);
    assert.equal(await ping(endpoint, addr), true, `ping out again ${addr}`);
    assert.equal((await on.tcp(endpoint.v4, ENDPOINT_TCP)).ok, true, 'tcp in again');
  }
});

test('test-run guard (root): isolation refuses the machine own network namespace and accepts a lab namespace', async () => {
  assert.equal(process.env.PALISADE_ISOLATION_TEST, '1', 'testkit marks the test run');
  assert.throws(() => assertIsolationAllowed(), IsolationRefused);
  assert.doesNotThrow(() => assertIsolationAllowed(L.endpoint.ns));
  assert.throws(() => assertIsolationAllowed('../etc'), /not valid/);
  assert.doesNotThrow(
    () => assertIsolationAllowed(undefined, {}),
    'outside test runs the host itself is the target',
  );
  // The backend refuses before it runs anything: a runner that only records proves no nft ran.
  const calls: string[][] = [];
  const recorder: ToolRunner = async (argv) => {
    calls.push([...argv]);
    return { code: 0, stdout: '', stderr: '' };
  };
  const rootBackend = new NftBackend({ run: recorder });
  await assert.rejects(
    rootBackend.apply([{ address: '192.0.2.1', family: 4, port: 443 }], 1),
    IsolationRefused,
  );
  await assert.rejects(rootBackend.remove(), IsolationRefused);
  assert.deepEqual(calls, []);
});
