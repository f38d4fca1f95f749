// Peer-triggered log lines are rate-limited and truncated: an agent or an anonymous client that
// sends garbage in a loop cannot fill the server's log (or its disk). Real server, real TLS.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { LogLimiter, type Logger } from '@palisade/common';
import { SimulatedAgent, waitFor } from '@palisade/testkit';
import { peerLogger } from './peer-log.js';
import { startTestServer } from './testing/harness.js';

/** logLines collects the server's JSON log lines. */
function logSink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n'))
        if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

test('peerLogger: per key and message, a burst then the rate, with the count of dropped lines; long fields cut', () => {
  let now = 0;
  const got: { msg: string | undefined; obj: Record<string, unknown> }[] = [];
  const sink: Logger = {
    debug: () => {},
    info: () => {},
    warn: (obj, msg) => got.push({ msg, obj: obj as Record<string, unknown> }),
    error: () => {},
    child: () => sink,
  };
  const limiter = new LogLimiter({ burst: 3, perSecond: 1, now: () => now });
  const log = peerLogger(sink, '203.0.113.9', limiter);
  for (let i = 0; i < 50; i++) log.warn({ detail: 'x'.repeat(5000) }, 'bad frame');
  assert.equal(got.length, 3);
  assert.ok(String(got[0]?.obj.detail).length < 250, 'a 5000-character field is cut');
  assert.match(String(got[0]?.obj.detail), /…\(\+4800 chars\)$/);
  peerLogger(sink, '198.51.100.1', limiter).warn({}, 'bad frame');
  assert.equal(got.length, 4, 'another peer has its own budget');
  now += 1000;
  log.warn({}, 'bad frame');
  assert.equal(got.at(-1)?.obj.suppressed, 47, 'the next line says how many were left out');
});

test('an agent sending 300 undecodable frames and a client sending 300 bad requests leave a few log lines each', async () => {
  const sink = logSink();
  const t = await startTestServer({ logDestination: sink.stream, logLevel: 'info' });
  try {
    const agent = await SimulatedAgent.register({
      registrationUrl: t.server.registrationUrl,
      registrationKey: t.registrationKey,
      caPem: t.server.caPem,
    });
    await agent.connect();
    const garbage = Buffer.alloc(2000, 0xff);
    for (let i = 0; i < 300; i++) agent.sendFrame(garbage);
    await waitFor('the server to answer every frame', () => agent.errors.length >= 300, 20_000);
    const long = `/v1/${'a'.repeat(4000)}`;
    for (let i = 0; i < 300; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request(`${t.server.registrationUrl}${i % 2 ? long : '/v1/register'}`, {
          method: 'POST',
          ca: t.server.caPem,
          headers: { 'content-type': 'text/plain' },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end('hello');
      });
    }
    const frames = sink.lines.filter((l) => l.msg === 'undecodable frame refused');
    const refused = sink.lines.filter((l) => l.msg === 'request refused');
    // 10 at once, then one a second: a run of a few seconds leaves a few more.
    assert.ok(frames.length >= 10 && frames.length <= 40, `${frames.length} lines for 300 bad frames`);
    assert.ok(refused.length >= 10 && refused.length <= 40, `${refused.length} lines for 300 bad requests`);
    for (const l of refused) assert.ok(String(l.url).length <= 250, 'a 4000-character URL is cut in the log');
    await agent.close();
  } finally {
    await t.stop();
  }
});
