import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, type Event, EventSchema, toOcsf } from '@palisade/protocol';
import { fromOcsf, OcsfInputError } from './from-ocsf.js';

const device = {
  agentId: 'agent-1',
  hostname: 'web-1',
  os: 'linux',
  osVersion: 'Debian 12',
  kernel: '6.1',
  arch: 'x86_64',
  machineId: 'm',
  agentVersion: '0.1.0',
};

const proc = {
  pid: 4242,
  tid: 4243,
  uid: 'p-4242',
  name: 'curl',
  path: '/usr/bin/curl',
  cmdLine: 'curl -fsSL http://x',
  argv: ['curl', '-fsSL', 'http://x'],
  argvTruncated: true,
  cwd: '/home/alice',
  createdTimeMs: 1767261600000n,
  user: { uid: '1000', name: 'alice', gid: 1000, euid: 0, egid: 1000 },
  ppid: 4000,
  cgroupId: 99n,
  sessionId: 7,
  tty: 'pts/0',
  parent: { pid: 4000, uid: 'p-4000', name: 'bash', path: '/usr/bin/bash', cmdLine: '-bash' },
};

/** One event of every class and activity Palisade emits, with every field set. */
const EVENTS: Event[] = [
  create(EventSchema, {
    classUid: 1007,
    activityId: 1,
    timeMs: 1767261600000n,
    severityId: 1,
    process: proc,
  }),
  create(EventSchema, {
    classUid: 1007,
    activityId: 2,
    timeMs: 1767261600001n,
    severityId: 1,
    process: proc,
    exitCode: 137,
    hasExitCode: true,
    exitSignal: 9,
  }),
  create(EventSchema, {
    classUid: 1007,
    activityId: 4,
    timeMs: 1n,
    severityId: 1,
    process: proc,
    actorProcess: {
      ...proc,
      pid: 1,
      uid: 'p-1',
      name: 'gdb',
      path: '/usr/bin/gdb',
      cmdLine: 'gdb -p 4242',
      argv: [],
      parent: undefined,
      ppid: 0,
    },
    actorUser: { uid: '0', name: 'root' },
  }),
  create(EventSchema, {
    classUid: 1001,
    activityId: 5,
    timeMs: 2n,
    severityId: 1,
    process: proc,
    file: { path: '/tmp/a', name: 'a', typeId: 1, size: 10n },
    fileResult: { path: '/etc/cron.d/a', name: 'a', typeId: 1 },
  }),
  create(EventSchema, {
    classUid: 4001,
    activityId: 2,
    timeMs: 3n,
    severityId: 1,
    process: proc,
    srcEndpoint: { ip: '10.0.0.1', port: 5000, hostname: 'a' },
    dstEndpoint: { ip: '10.0.0.2', port: 443, hostname: 'b' },
    connectionInfo: { protocolNum: 6, protocolName: 'tcp', directionId: 2, protocolVerId: 4 },
    traffic: { bytesIn: 10n, bytesOut: 20n },
  }),
  create(EventSchema, {
    classUid: 4003,
    activityId: 1,
    timeMs: 4n,
    severityId: 1,
    process: proc,
    query: { hostname: 'x.example', type: 'A', class: 'IN', packetUid: 9 },
  }),
  create(EventSchema, {
    classUid: 3002,
    activityId: 7,
    timeMs: 5n,
    severityId: 1,
    statusId: 2,
    statusDetail: 'bad password',
    message: 'su account switch failed',
    rawData: 'su[1]: FAILED SU (to root) alice on pts/0',
    process: { pid: 1, name: 'su', tty: 'pts/0' },
    actorUser: { uid: '1000', name: 'alice' },
    user: { name: 'root' },
    srcEndpoint: { ip: '1.2.3.4', port: 22 },
    authProtocol: 'password',
    logonTypeId: 2,
    serviceName: 'su',
    isRemote: false,
    command: '/bin/sh',
  }),
];

test('fromOcsf inverts toOcsf for every class Palisade emits', () => {
  for (const e of EVENTS) {
    const json = JSON.parse(JSON.stringify(toOcsf(e, device, 'uid-1')));
    const { event, ctx } = fromOcsf(json);
    assert.deepEqual(
      toOcsf(event, device, 'uid-1'),
      toOcsf(e, device, 'uid-1'),
      `class ${e.classUid}/${e.activityId}`,
    );
    assert.deepEqual(ctx, { agentId: 'agent-1', hostname: 'web-1' });
  }
});

test('fromOcsf names the attribute it cannot read', () => {
  assert.throws(() => fromOcsf([]), OcsfInputError);
  assert.throws(() => fromOcsf({ activity_id: 1 }), /class_uid is missing/);
  assert.throws(
    () => fromOcsf({ class_uid: 1007, activity_id: 1, process: { pid: 'x' } }),
    /process\.pid must be a number/,
  );
  assert.throws(
    () => fromOcsf({ class_uid: 1007, activity_id: 1, process: 'x' }),
    /process must be an object/,
  );
  assert.throws(
    () => fromOcsf({ class_uid: 1007, process: {}, unmapped: { 'process.argv': 'x' } }),
    /argv must be a list/,
  );
});
