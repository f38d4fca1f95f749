// When open sessions are re-checked against storage (real SQLite): after every credential change,
// for sessions added since the last check, and never in between (one cheap read per tick); an
// expired certificate is caught in memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, silentLogger } from '@palisade/common';
import type { Storage } from '@palisade/storage';
import { conformanceFixtures as fx } from '@palisade/storage/testing';
import { openSqliteStorage } from '@palisade/storage-sqlite';
import { sleep, tempDir, waitFor } from '@palisade/testkit';
import { join } from 'node:path';
import { type LiveSession, SessionTable } from './session-table.js';
import { startSessionRevalidation } from './session-revalidation.js';

test('sessions are re-checked after a credential change and when added, not otherwise; expiry in memory', async (t) => {
  const real = await openSqliteStorage({ path: join(tempDir('palisade-reval-'), 'db'), writerThread: false });
  t.after(() => real.close());
  await real.migrate();
  let queries = 0;
  const storage = new Proxy(real, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop === 'agentCredentials') queries++;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Storage;
  const g = fx.groupFixture();
  await real.createGroup(g);
  const k = fx.keyFixture(g.id);
  await real.createKey(k);
  const agents = [fx.agentFixture(g.id, k.id), fx.agentFixture(g.id, k.id), fx.agentFixture(g.id, k.id)];
  for (const a of agents) await real.createAgent(a);
  const clock = new ManualClock(fx.T0);
  const sessions = new SessionTable();
  const closed: { id: string; code: number; reason: string }[] = [];
  const session = (a: (typeof agents)[0], notAfter = fx.T0 + 1e9): LiveSession => {
    const s: LiveSession = {
      agentId: a.id,
      connectedSince: 0,
      remoteAddress: '',
      channel: 'standby',
      certFingerprint: a.certFingerprint,
      certNotAfter: notAfter,
      send() {},
      close(code, reason) {
        closed.push({ id: a.id, code, reason });
        sessions.remove(s, 0);
      },
    };
    return s;
  };
  const [a, b, c] = agents as [(typeof agents)[0], (typeof agents)[0], (typeof agents)[0]];
  sessions.add(session(a));
  const stop = startSessionRevalidation({ sessions, storage, clock, logger: silentLogger, intervalMs: 50 });
  t.after(stop);
  await waitFor('the first full check', () => queries === 1);
  await sleep(300);
  assert.equal(queries, 1, 'nothing changed: no query over the sessions');

  // Revoked before its session is added (the last check already saw that epoch): the new session
  // is checked on its own and closed.
  await real.updateAgent(b.id, { revokedAt: fx.T0, revocationReason: 'gone' });
  await waitFor('the epoch change seen', () => queries === 2);
  sessions.add(session(b));
  await waitFor('the new session closed', () => closed.some((x) => x.id === b.id));
  assert.deepEqual(closed, [{ id: b.id, code: 4003, reason: 'agent credential revoked (gone)' }]);

  // A decommission anywhere: the open session of that agent is closed at the next tick.
  await real.updateAgent(a.id, { decommissionedAt: fx.T0 });
  await waitFor('the decommissioned session closed', () => closed.some((x) => x.id === a.id));
  assert.equal(closed.at(-1)?.code, 4003);

  // A certificate that expires by the server's clock is closed without asking storage.
  sessions.add(session(c, fx.T0 + 1000));
  await waitFor('the new session checked', () => queries >= 4);
  await sleep(200);
  const before = queries;
  clock.set(fx.T0 + 1000);
  await waitFor('the expired session closed', () => closed.some((x) => x.id === c.id));
  assert.deepEqual(closed.at(-1), { id: c.id, code: 4001, reason: 'certificate expired' });
  assert.equal(queries, before, 'expiry needs no query');
});
