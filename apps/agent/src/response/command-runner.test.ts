import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock, silentLogger } from '@palisade/common';
import {
  type Command,
  CommandPhase,
  type CommandResult,
  CommandSchema,
  type Event,
  RestoreCodeVerifierSchema,
  create,
  generateRestoreCode,
  makeVerifier,
} from '@palisade/protocol';
import { tempDir, waitFor } from '@palisade/testkit';
import { UnsupportedBackend } from '../isolation/isolation-backend.js';
import { IsolationController } from '../isolation/isolation-controller.js';
import { CommandJournal } from './command-journal.js';
import { CommandRunner } from './command-runner.js';
import { quarantineFile, restoreQuarantined } from './quarantine.js';
import { FREE_ATTEMPTS, RestoreCodeStore } from './restore-code-store.js';

function setup() {
  const state = tempDir('palisade-runner-');
  const files = tempDir('palisade-runner-files-');
  const ctx = { dir: join(state, 'quarantine'), protectedPaths: () => [state] };
  const events: Event[] = [];
  const journal = new CommandJournal(state);
  const make = () =>
    new CommandRunner({
      journal: new CommandJournal(state),
      isolation: new IsolationController({
        stateDir: state,
        backend: new UnsupportedBackend('not in this test'),
        endpointUrls: () => [],
        selfTest: async () => {},
        logger: silentLogger,
      }),
      restoreCodes: new RestoreCodeStore(state),
      actions: {
        kill: async () => ({ ok: false, code: 'not_found', message: 'no such process', killedPids: [] }),
        quarantine: (p) => quarantineFile(p, ctx),
        restoreFile: (id) => restoreQuarantined(id, ctx),
      },
      onPolicy: () => {},
      emit: (e) => events.push(e),
      logger: silentLogger,
    });
  return { state, files, ctx, events, journal, make };
}

async function deliver(runner: CommandRunner, c: Command): Promise<CommandResult[]> {
  const got: CommandResult[] = [];
  runner.handle(c, (r) => got.push(r));
  await waitFor('a final result', () => got.some((r) => r.phase === CommandPhase.FINAL));
  return got;
}

test('a response command delivered again is answered from the journal, never carried out twice, also after a restart', async () => {
  const { files, ctx, events, make } = setup();
  const p = join(files, 'payload');
  writeFileSync(p, 'malware');
  const cmd = create(CommandSchema, {
    id: randomUUID(),
    action: { case: 'quarantineFile', value: { path: p } },
    reason: 'ioc',
  });
  const runner = make();
  const first = await deliver(runner, cmd);
  assert.deepEqual(
    first.map((r) => r.phase),
    [CommandPhase.RECEIVED, CommandPhase.FINAL],
  );
  const final = first[1]!;
  assert.equal(final.ok, true, final.message);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.classUid, 7002);
  assert.equal(events[0]!.remediation?.commandUid, cmd.id);
  // Put a new file at the path: running the command again would quarantine it.
  writeFileSync(p, 'innocent');
  const again = await deliver(make(), cmd);
  assert.deepEqual(again, [final], 'the stored result, nothing else');
  assert.equal(existsSync(p), true, 'the new file was not touched');
  assert.equal(readdirSync(ctx.dir).length, 1, 'one quarantine entry');
  assert.equal(events.length, 1, 'no second remediation event');
});

test('a command the agent died in the middle of is reported interrupted, not re-run; expired and malformed ones are refused', async () => {
  const { files, journal, make } = setup();
  const p = join(files, 'payload');
  writeFileSync(p, 'x');
  const id = randomUUID();
  journal.started(id, Date.now());
  const interrupted = await deliver(
    make(),
    create(CommandSchema, { id, action: { case: 'quarantineFile', value: { path: p } } }),
  );
  assert.equal(interrupted.at(-1)?.code, 'interrupted');
  assert.equal(existsSync(p), true);
  const expired = await deliver(
    make(),
    create(CommandSchema, {
      id: randomUUID(),
      action: { case: 'quarantineFile', value: { path: p } },
      expiresAtMs: 1000n,
    }),
  );
  assert.equal(expired.at(-1)?.code, 'expired');
  assert.equal(existsSync(p), true);
  const bad = await deliver(
    make(),
    create(CommandSchema, { id: '../../etc', action: { case: 'quarantineFile', value: { path: p } } }),
  );
  assert.equal(bad.at(-1)?.code, 'bad_request');
  const old = await deliver(
    make(),
    create(CommandSchema, { id: randomUUID(), action: { case: 'isolate', value: true } }),
  );
  assert.equal(old.at(-1)?.ok, false);
  assert.equal(old.at(-1)?.code, 'unsupported');
});

test('restore codes: the right code opens, wrong ones are counted and then delayed, across restarts; bad verifiers are refused', async () => {
  const dir = tempDir('palisade-codes-');
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const code = generateRestoreCode();
  assert.match(code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
  const v = create(RestoreCodeVerifierSchema, { codeId: 'rc-1', ...(await makeVerifier(code)) });
  let store = new RestoreCodeStore(dir, clock);
  assert.equal((await store.attempt(code)).ok, false, 'no verifier yet');
  assert.equal(store.setVerifier(v), undefined);
  assert.match(
    store.setVerifier({ ...v, log2N: 30 }) ?? '',
    /log2\(N\)/,
    'a verifier that would exhaust memory',
  );
  assert.match(store.setVerifier({ ...v, codeId: '../x' }) ?? '', /id/);
  // Typed the way people type it: lower case, without dashes, O for 0.
  assert.deepEqual(await store.attempt(code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o')), {
    ok: true,
    codeId: 'rc-1',
  });
  for (let i = 1; i <= FREE_ATTEMPTS; i++) {
    const r = await store.attempt('AAAAA-AAAAA-AAAAA-AAAAA');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.code, 'wrong_code');
  }
  store = new RestoreCodeStore(dir, clock); // a restart does not reset the count
  const locked = await store.attempt(code);
  assert.equal(locked.ok, false, 'locked: even the right code waits');
  if (!locked.ok) assert.equal(locked.code, 'locked');
  clock.advance(61_000);
  assert.equal((await store.attempt('AAAAA-AAAAA-AAAAA-AAAAA')).ok, false);
  const longer = await store.attempt(code);
  assert.equal(longer.ok, false, 'the wait doubled after another wrong code');
  clock.advance(121_000);
  assert.equal((await store.attempt(code)).ok, true);
  assert.equal(store.failures, 0, 'the right code resets the count');
});
