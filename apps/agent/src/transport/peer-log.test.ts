// What a server makes the agent log is bounded: a scripted peer floods the agent with refused
// frames carrying huge messages, bogus acks and undecodable bytes; the log gets a few lines of
// each kind, cut short, and says how many it held back.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Logger } from '@palisade/common';
import { EventSchema, WelcomeSchema, create } from '@palisade/protocol';
import { removeTempDir, sleep, tempDir, waitFor } from '@palisade/testkit';
import { Spool } from '../spool/index.js';
import { inertHooks } from './inert-hooks.test-util.js';
import { ScriptedPeer } from './scripted-peer.test-util.js';
import { TelemetryClient } from './telemetry-client.js';

interface Line {
  obj: Record<string, unknown>;
  msg: string;
}

function recorder(lines: Line[]): Logger {
  const at = (obj: object, msg?: string) => {
    lines.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' });
  };
  const l: Logger = { debug: at, info: at, warn: at, error: at, child: () => l };
  return l;
}

test('a server flooding the agent with refusals, bogus acks and garbage gets a few short log lines', async (t) => {
  const peer = await ScriptedPeer.start();
  const dir = tempDir('palisade-peer-log-');
  const spool = Spool.open({ dir: join(dir, 'spool'), batchMaxEvents: 1 });
  const lines: Line[] = [];
  const client = new TelemetryClient({
    endpoints: () => ({ primary: peer.url, standby: '' }),
    tls: { ca: peer.caPem },
    spool,
    hooks: inertHooks(),
    logger: recorder(lines),
    ackTimeoutMs: 60_000,
  });
  t.after(async () => {
    await client.stop();
    spool.close();
    await peer.close();
    removeTempDir(dir);
  });
  client.start();
  await waitFor('Hello', () => peer.frames[0]?.kind.case === 'hello');
  peer.send({ case: 'welcome', value: create(WelcomeSchema, { agentId: 'a1', heartbeatIntervalS: 30 }) });
  spool.append(create(EventSchema, { classUid: 1007, timeMs: 1n }));
  await waitFor('a batch', () => peer.batchSeqs().length === 1);
  const huge = 'X'.repeat(200_000);
  for (let i = 0; i < 300; i++) {
    peer.send({
      case: 'error',
      value: { $typeName: 'palisade.v1.ErrorFrame', code: 'nope', message: huge, seq: 0n, fatal: false },
    });
    peer.send({
      case: 'ack',
      value: { $typeName: 'palisade.v1.Ack', seq: BigInt(1000 + i), duplicate: false },
    });
    peer.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, i & 0xff]));
  }
  await waitFor(
    'the flood to arrive',
    () => lines.filter((l) => l.msg === 'server refused a frame').length >= 10,
  );
  await sleep(500);
  const count = (msg: string) => lines.filter((l) => l.msg === msg).length;
  assert.equal(count('server refused a frame'), 10);
  assert.equal(count('ack for a batch not in flight on this connection ignored'), 10);
  assert.equal(count('undecodable frame from server ignored'), 10);
  for (const l of lines) {
    for (const v of Object.values(l.obj)) {
      if (typeof v === 'string') assert.ok(v.length < 300, `${l.msg}: a ${v.length}-character field`);
    }
  }
  const refused = lines.find((l) => l.msg === 'server refused a frame')!;
  assert.equal(refused.obj.msg, `${'X'.repeat(256)}…(+${200_000 - 256} chars)`);
});
