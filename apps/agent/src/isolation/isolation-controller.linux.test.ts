// The isolation state machine over real nftables (root). Rules go only into the lab's endpoint
// namespace (NftBackend with `netns`); the self-test is a real TCP round trip from inside the
// endpoint to the backend through the rules just applied.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '@palisade/common';
import { type Event, IsolationDesiredSchema, IsolationState, create, toOcsf } from '@palisade/protocol';
import { OcsfValidator, run, tempDir, waitFor } from '@palisade/testkit';
import {
  IsolationController,
  type IsolationControllerOptions,
  REVERTED_PREFIX,
} from './isolation-controller.js';
import { loadIsolation } from './isolation-file.js';
import { BACKEND_PORT, type IsolationLab, OTHER_TCP, startIsolationLab } from './isolation-lab.test-util.js';
import { NftBackend } from './nft-backend.linux.js';
import { canonicalAddress } from './nft-ruleset.js';

let L: IsolationLab;
let nft: NftBackend;
const validator = new OcsfValidator();

before(async () => {
  L = await startIsolationLab();
  nft = new NftBackend({ netns: L.endpoint.ns });
});
after(async () => {
  await L?.lab.cleanup();
  assert.doesNotMatch((await run('nft', ['list', 'tables'])).out, /palisade/);
});

function desired(isolated: boolean, revision: number, commandId = `cmd-${revision}`) {
  return create(IsolationDesiredSchema, { isolated, revision: BigInt(revision), commandId, reason: 'test' });
}

function controller(
  stateDir: string,
  events: Event[],
  over: Partial<IsolationControllerOptions> = {},
): IsolationController {
  return new IsolationController({
    stateDir,
    backend: nft,
    endpointUrls: () => [
      `https://${L.backend.v4}:${BACKEND_PORT}`,
      `wss://[${L.backend.v6}]:${BACKEND_PORT}/v1/telemetry`,
    ],
    selfTest: async () => {
      const r = await L.en.tcp(L.backend.v4, BACKEND_PORT, 500);
      if (!r.ok) throw new Error(`backend did not answer: ${r.error}`);
    },
    selfTestTimeoutMs: 1500,
    selfTestRetryMs: 200,
    logger: silentLogger,
    emit: (e) => events.push(e),
    ...over,
  });
}

function ocsfOf(e: Event): Record<string, unknown> {
  const o = toOcsf(
    e,
    {
      agentId: 'a',
      hostname: 'h',
      os: 'linux',
      osVersion: '',
      kernel: '',
      arch: '',
      machineId: '',
      agentVersion: '',
    },
    '1',
  );
  assert.deepEqual(validator.validate(o), [], JSON.stringify(o));
  return o;
}

test('isolate and restore (root, network namespace): proven by a round trip, saved, reported, removed again', async () => {
  const dir = tempDir('palisade-iso-');
  const events: Event[] = [];
  const c = controller(dir, events);
  await c.start();
  assert.equal(c.status().state, IsolationState.NOT_ISOLATED);
  await c.setDesired(desired(true, 1));
  assert.equal(c.status().state, IsolationState.ISOLATED);
  assert.equal(await nft.isApplied(), true);
  assert.deepEqual(
    c.status().allowedAddresses.sort(),
    [`${L.backend.v4} ${BACKEND_PORT}`, `${L.backend.v6} ${BACKEND_PORT}`].sort(),
  );
  assert.equal((await L.en.tcp(L.other.v4, OTHER_TCP)).ok, false);
  const saved = loadIsolation(dir, 0);
  assert.deepEqual(saved.actual.state, 'isolated');
  assert.equal(saved.desired.revision, 1);
  const iso = ocsfOf(events.at(-1)!);
  assert.equal(iso.class_uid, 7004);
  assert.equal(iso.activity_id, 1);
  assert.equal(iso.status_id, 1);
  assert.equal(iso.command_uid, 'cmd-1');
  // An older revision is ignored; the same one changes nothing.
  await c.setDesired(desired(false, 0));
  assert.equal(c.status().state, IsolationState.ISOLATED);
  await c.setDesired(desired(false, 2));
  assert.equal(c.status().state, IsolationState.NOT_ISOLATED);
  assert.equal(Number(c.status().revision), 2);
  assert.equal(await nft.isApplied(), false);
  assert.equal((await L.en.tcp(L.other.v4, OTHER_TCP)).ok, true);
  const res = ocsfOf(events.at(-1)!);
  assert.equal(res.activity_id, 3);
  assert.equal(res.command_uid, 'cmd-2');
  await c.stop();
});

test('self-test failure (root, network namespace): the rules are reverted within the time allowed, the reason is reported, the revision is not retried', async () => {
  const dir = tempDir('palisade-iso-');
  const events: Event[] = [];
  // The rules allow only an address nobody answers on: the backend is unreachable through them.
  const c = controller(dir, events, { testBackendOverride: ['192.0.2.1'] });
  await c.start();
  const t0 = Date.now();
  await c.setDesired(desired(true, 1));
  const took = Date.now() - t0;
  const s = c.status();
  assert.equal(s.state, IsolationState.REVERTED);
  assert.ok(s.reason.startsWith(REVERTED_PREFIX), s.reason);
  assert.match(s.reason, /192\.0\.2\.1 7443/);
  assert.ok(took >= 1500 && took < 4000, `reverted after ${took} ms (allowed 1500)`);
  assert.equal(await nft.isApplied(), false);
  assert.equal((await L.en.tcp(L.other.v4, OTHER_TCP)).ok, true, 'the host is open again');
  const ev = ocsfOf(events.at(-1)!);
  assert.equal(ev.status_id, 2);
  assert.equal(ev.status_code, 'isolation_reverted');
  // The same revision again (a check-in repeating it) is not re-applied.
  await c.setDesired(desired(true, 1));
  assert.equal(c.status().state, IsolationState.REVERTED);
  assert.equal(await nft.isApplied(), false);
  await c.stop();
});

test('restart and crash (root, network namespace): a proven isolation is applied again at start even with the backend down; a local lift sticks; an unreadable state file changes nothing', async () => {
  const dir = tempDir('palisade-iso-');
  const events: Event[] = [];
  const first = controller(dir, events);
  await first.start();
  await first.setDesired(desired(true, 4));
  await first.stop();
  // The "crash": the table outlives the process; someone even removes it meanwhile.
  assert.equal(await nft.isApplied(), true);
  await nft.remove();
  const down = controller(dir, events, {
    selfTest: () => Promise.reject(new Error('backend down')),
  });
  await down.start();
  assert.equal(
    down.status().state,
    IsolationState.ISOLATED,
    'isolated again at start, no revert with the backend down',
  );
  assert.equal(await nft.isApplied(), true);
  assert.equal((await L.en.tcp(L.other.v4, OTHER_TCP)).ok, false);
  const lifted = await down.liftLocally('rc-1');
  assert.equal(lifted.lifted, true);
  assert.equal(await nft.isApplied(), false);
  assert.equal(Number(down.status().localRestore?.revision), 4);
  assert.equal(ocsfOf(events.at(-1)!).status_code, 'local_restore');
  await down.stop();
  const again = controller(dir, events);
  await again.start();
  assert.equal(await nft.isApplied(), false, 'a lifted revision is not re-applied at start');
  assert.equal(again.status().state, IsolationState.NOT_ISOLATED);
  await again.stop();

  // Unreadable state with rules in place: keep them until the server says otherwise.
  await nft.apply([{ address: L.backend.v4, family: 4, port: BACKEND_PORT }], 9);
  writeFileSync(join(dir, 'isolation.json'), '{"version": 1, "desired": "garbage"');
  const blind = controller(dir, events);
  await blind.start();
  assert.equal(blind.status().state, IsolationState.FAILED);
  assert.match(blind.status().reason, /isolation\.json/);
  assert.equal(await nft.isApplied(), true, 'rules kept');
  await blind.setDesired(desired(false, 10));
  assert.equal(await nft.isApplied(), false, 'removed once the server says so');
  await blind.stop();
});

test('re-resolution (root, network namespace): when the backend name resolves to a new address the rules follow it', async () => {
  const dir = tempDir('palisade-iso-');
  let answer = [L.backend.v4];
  const c = controller(dir, [], {
    endpointUrls: () => [`https://backend.lab.test:${BACKEND_PORT}`],
    resolve: async (hosts) => ({
      resolved: new Map(
        hosts.map((h) => [
          `${h.host} ${h.port}`,
          answer.map((a) => ({ ...canonicalAddress(a), port: h.port })),
        ]),
      ),
      failed: [],
    }),
    resolveIntervalMs: 200,
  });
  await c.start();
  await c.setDesired(desired(true, 1));
  assert.deepEqual(c.status().allowedAddresses, [`${L.backend.v4} ${BACKEND_PORT}`]);
  assert.equal((await L.en.tcp(L.backend.v6, BACKEND_PORT, 500)).ok, false);
  answer = [L.backend.v6];
  await waitFor(
    'the rules to follow the new address',
    () => c.status().allowedAddresses[0] === `${L.backend.v6} ${BACKEND_PORT}`,
    5000,
  );
  assert.equal((await L.en.tcp(L.backend.v6, BACKEND_PORT)).ok, true);
  assert.equal((await L.en.tcp(L.backend.v4, BACKEND_PORT, 500)).ok, false);
  // A name that stops resolving keeps its last addresses (never an empty allow list).
  answer = [];
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(c.status().allowedAddresses[0], `${L.backend.v6} ${BACKEND_PORT}`);
  await c.setDesired(desired(false, 2));
  await c.stop();
});
