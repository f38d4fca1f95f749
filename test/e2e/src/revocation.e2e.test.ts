// Revocation and decommission reach every listener (ADR 0015): a real primary `palisade server`
// process, a real standby-only process on its data directory (its own session table), agents that
// speak the real protocol over real TLS, and the operator's `palisade` CLI. A decommission or a
// revocation made through the primary closes the agents' open standby sessions within seconds.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SimulatedAgent, freePort, makeProcessEvent, waitFor } from '@palisade/testkit';
import { runCli, startCli, startServerProcess } from './processes.js';

test('decommission and revoke through the CLI close open sessions on a standby-only process within seconds', async (t) => {
  const server = await startServerProcess();
  t.after(() => server.stop());
  const port = await freePort();
  const standby = startCli([
    'server',
    '--standby-only',
    '--data-dir',
    server.dataDir,
    '--standby-port',
    String(port),
  ]);
  t.after(() => standby.stop());
  await waitFor(
    'the standby-only process',
    () => {
      if (standby.child.exitCode !== null) throw new Error(`standby exited: ${standby.output()}`);
      return /palisade standby listening/.test(standby.output());
    },
    30_000,
  );
  const url = `wss://127.0.0.1:${port}/v1/telemetry`;
  const caPem = readFileSync(server.client.caFile, 'utf8');
  const registrationKey = readFileSync(join(server.dataDir, 'registration-key'), 'utf8').trim();
  const register = () =>
    SimulatedAgent.register({ registrationUrl: server.client.registrationUrl, registrationKey, caPem });
  const [a, b] = [await register(), await register()];
  for (const x of [a, b]) {
    await x.connect({ url });
    assert.equal((await x.sendBatch([makeProcessEvent(1)])).duplicate, false);
  }
  const cli = async (...args: string[]) => {
    const r = await runCli([...args, '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, `palisade ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  let t0 = Date.now();
  await cli('agents', 'decommission', a.agentId);
  assert.equal(await a.closed(15_000), 4003);
  const decommissionMs = Date.now() - t0;
  await assert.rejects(a.connect({ url }), /upgrade refused: 401 .*agent decommissioned/);

  t0 = Date.now();
  assert.match(
    await cli('agents', 'revoke', b.agentId, '--reason', 'compromised host'),
    /revoked the credential/,
  );
  assert.equal(await b.closed(15_000), 4003);
  const revokeMs = Date.now() - t0;
  await assert.rejects(
    b.connect({ url }),
    /upgrade refused: 401 .*agent credential revoked \(compromised host\)/,
  );
  t.diagnostic(`standby session closed ${decommissionMs} ms after decommission, ${revokeMs} ms after revoke`);
  // Within seconds: the standby re-validates its sessions every 5 s.
  assert.ok(decommissionMs < 8000, `decommission took ${decommissionMs} ms to reach the standby`);
  assert.ok(revokeMs < 8000, `revocation took ${revokeMs} ms to reach the standby`);

  const list = await cli('agents', 'list');
  assert.match(list, /revoked: compromised host/);
  const json = JSON.parse(await cli('agents', 'list', '--json')) as { id: string; status: string }[];
  assert.equal(json.find((x) => x.id === a.agentId)?.status, 'decommissioned');
  assert.equal(json.find((x) => x.id === b.agentId)?.status, 'revoked');
  // A second revocation is a clear error.
  const again = await runCli(['agents', 'revoke', b.agentId, '--data-dir', server.dataDir]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already revoked/);
});
