import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Agent, certCell, certificateWarnings, dropsCell, spoolCell } from './agents.js';

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

test('agents list: CERT shows days left and marks one within 30 days; warnings name the server, CAs and agents', () => {
  const withCert = (certificate: Agent['certificate'], hostname = 'h') =>
    ({ id: 'a1', hostname, status: 'active', certificate }) as unknown as Agent;
  assert.equal(certCell(withCert(undefined)), '-');
  assert.equal(
    certCell(withCert({ not_after: 'x', days_left: 200, warning: null, renewal_pending: false })),
    '200d',
  );
  assert.equal(
    certCell(withCert({ not_after: 'x', days_left: 120, warning: null, renewal_pending: true })),
    '120d (renewing)',
  );
  const soon = withCert(
    {
      not_after: 'x',
      days_left: 12,
      warning: 'agent certificate expires in 12 days (x); ...',
      renewal_pending: false,
    },
    'web-1',
  );
  assert.equal(certCell(soon), '12d !');
  assert.equal(
    certCell(withCert({ not_after: 'x', days_left: -1, warning: 'expired', renewal_pending: false })),
    'expired !',
  );
  assert.deepEqual(
    certificateWarnings([soon], {
      warnings: [
        'server certificate expires in 20 days (x); ...',
        '1 agent certificate expires within 30 days: ...',
      ],
    }),
    [
      'warning: server certificate expires in 20 days (x); ...',
      'warning: web-1 (a1): agent certificate expires in 12 days (x); ...',
    ],
  );
  assert.deepEqual(certificateWarnings([], undefined), []);
});
