// The server limits registrations per source address (429 with Retry-After): an agent told so
// waits and tries again instead of giving up. Real server, real TLS.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { test } from 'node:test';
import { Backoff, silentLogger } from '@palisade/common';
import { startServer } from '@palisade/server';
import { tempDir } from '@palisade/testkit';
import { readKey } from '../agent-harness.test-util.js';
import { registerWithRetry } from './register-with-retry.js';

function emptyRegister(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/register`, { method: 'POST', ca, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a registration refused with 429 (rate limited) is retried, not given up', async (t) => {
  const dataDir = tempDir('palisade-reg-rate-srv-');
  const srv = await startServer({
    dataDir,
    registrationPort: 0,
    telemetryPort: 0,
    logLevel: 'silent',
    limits: { registrationBurst: 1, registrationPerMinute: 60 },
  });
  t.after(() => srv.close());
  // The one registration this address may make at once is used up.
  assert.notEqual(await emptyRegister(srv.registrationUrl, srv.caPem), 429);
  assert.equal(await emptyRegister(srv.registrationUrl, srv.caPem), 429);
  const identity = await registerWithRetry({
    stateDir: tempDir('palisade-reg-rate-agent-'),
    serverUrl: srv.registrationUrl,
    registrationKey: readKey(dataDir),
    caPem: srv.caPem,
    logger: silentLogger,
    backoff: new Backoff({ initialMs: 300, maxMs: 1500 }),
  });
  assert.ok(identity.agentId);
  assert.ok(await srv.storage.getAgent(identity.agentId));
});
