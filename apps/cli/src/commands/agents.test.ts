import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Agent, dropsCell, spoolCell } from './agents.js';

const agent = (health: Agent['health']): Agent =>
  ({ id: 'a', hostname: 'h', status: 'active', health }) as unknown as Agent;
const drops = { ring: 0, spool: 0, spool_by_class: {}, corrupt_records: 0 };

test('agents list: SPOOL shows the backlog and the age of its oldest event, DROPS the drop report by kind', () => {
  const base = { channel: 'standby', last_ack_at: null, oldest_unsent_at: null, drops };
  assert.equal(spoolCell(agent(undefined)), '-');
  assert.equal(spoolCell(agent({ ...base, spool_depth: 0 })), '0');
  const oldest = new Date(Date.now() - 3 * 3600_000).toISOString();
  assert.equal(
    spoolCell(agent({ ...base, spool_depth: 1200, oldest_unsent_at: oldest })),
    '1200 (oldest 3h)',
  );
  assert.equal(dropsCell(agent({ ...base, spool_depth: 0 })), '0');
  assert.equal(
    dropsCell(
      agent({
        ...base,
        spool_depth: 0,
        drops: { ring: 4, spool: 7, spool_by_class: { process: 5, network: 2 }, corrupt_records: 1 },
      }),
    ),
    'spool 7 (process 5, network 2); ring 4; corrupt 1',
  );
});
