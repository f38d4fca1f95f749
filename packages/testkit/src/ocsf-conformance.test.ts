import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthProvenance, create, EventSchema, type DeviceInfo, toOcsf } from '@palisade/protocol';
import { OcsfValidator } from './ocsf-validator.js';

const device: DeviceInfo = {
  agentId: '7d4c1b1e-6a5c-4a5e-9d1e-0f3b2a1c9e77',
  hostname: 'web-1',
  os: 'linux',
  osVersion: 'Debian GNU/Linux 12 (bookworm)',
  kernel: '6.18.0',
  arch: 'x64',
  machineId: 'f00dfeed',
  agentVersion: '0.1.0',
};

const proc = {
  pid: 4242,
  uid: 'p-4242-1',
  name: 'echo',
  path: '/bin/echo',
  cmdLine: '/bin/echo hi',
  argv: ['/bin/echo', 'hi'],
  cwd: '/root',
  createdTimeMs: 1_760_000_000_000n,
  ppid: 1,
  user: { uid: '0', name: 'root', euid: 0 },
  parent: { pid: 1, uid: 'p-1-0', name: 'init', path: '/sbin/init', cmdLine: '/sbin/init' },
};

// One event of every class and activity Palisade emits, with every field it fills.
const samples = [
  create(EventSchema, { classUid: 1007, activityId: 1, timeMs: 1n, process: proc }),
  create(EventSchema, {
    classUid: 1007,
    activityId: 2,
    timeMs: 1n,
    process: proc,
    exitCode: 3,
    hasExitCode: true,
  }),
  create(EventSchema, { classUid: 1001, activityId: 1, timeMs: 1n, process: proc, file: { path: '/tmp/a' } }),
  create(EventSchema, {
    classUid: 1001,
    activityId: 5,
    timeMs: 1n,
    process: proc,
    file: { path: '/tmp/a' },
    fileResult: { path: '/tmp/b' },
  }),
  create(EventSchema, {
    classUid: 4001,
    activityId: 2,
    timeMs: 1n,
    process: proc,
    srcEndpoint: { ip: '127.0.0.1', port: 40000 },
    dstEndpoint: { ip: '127.0.0.1', port: 80 },
    connectionInfo: { protocolNum: 6, protocolName: 'tcp', directionId: 2, protocolVerId: 4 },
    traffic: { bytesIn: 10n, bytesOut: 20n },
  }),
  create(EventSchema, {
    classUid: 4003,
    activityId: 1,
    timeMs: 1n,
    process: proc,
    query: { hostname: 'example.test', type: 'A', class: 'IN', packetUid: 7 },
    dstEndpoint: { ip: '127.0.0.1', port: 53 },
  }),
  create(EventSchema, {
    classUid: 3002,
    activityId: 1,
    timeMs: 1n,
    statusId: 2,
    statusDetail: 'bad password',
    user: { name: 'alice' },
    srcEndpoint: { ip: '127.0.0.1', port: 50000 },
    authProtocol: 'password',
    serviceName: 'sshd',
    isRemote: true,
    rawData: 'Failed password for alice from 127.0.0.1 port 50000 ssh2',
  }),
  create(EventSchema, {
    classUid: 3002,
    activityId: 7,
    timeMs: 1n,
    statusId: 1,
    user: { name: 'root' },
    actorUser: { name: 'alice' },
    serviceName: 'sudo',
    command: '/usr/bin/id',
  }),
  // A journal record checked against its sender: verified, and one a local user forged.
  create(EventSchema, {
    classUid: 3002,
    activityId: 1,
    timeMs: 1n,
    statusId: 1,
    user: { name: 'alice' },
    process: { pid: 812, name: 'sshd', path: '/usr/sbin/sshd' },
    serviceName: 'sshd',
    authProvenance: AuthProvenance.VERIFIED,
  }),
  create(EventSchema, {
    classUid: 3002,
    activityId: 1,
    timeMs: 1n,
    severityId: 3,
    statusId: 99,
    statusDetail: 'forged: claims success; sent by uid 1000 (pid 4300), not by sshd',
    user: { name: 'root' },
    process: { pid: 4300, name: 'logger', path: '/usr/bin/logger' },
    actorUser: { uid: '1000', name: 'mallory' },
    serviceName: 'sshd',
    isRemote: true,
    authProvenance: AuthProvenance.FORGED,
  }),
];

test('every event class Palisade renders conforms to the OCSF schema in ../shared/data/ocsf', () => {
  const v = new OcsfValidator();
  for (const e of samples) {
    const rendered = toOcsf(e, device, 'evt-1');
    assert.deepEqual(v.validate(rendered), [], `class ${e.classUid} activity ${e.activityId}`);
  }
  const [verified, forged] = samples.slice(-2).map((e) => toOcsf(e, device, 'evt-1'));
  assert.deepEqual(verified!.unmapped, { provenance: 'verified' });
  assert.equal((verified!.actor as { process: { path: string } }).process.path, '/usr/sbin/sshd');
  assert.deepEqual(forged!.unmapped, { provenance: 'forged' });
  assert.equal(forged!.status, 'Other');
  assert.equal(forged!.severity, 'Medium');
  assert.deepEqual((forged!.actor as { user: unknown }).user, { uid: '1000', name: 'mallory' });
});

test('the validator catches attributes that are not OCSF', () => {
  const v = new OcsfValidator();
  const rendered = toOcsf(samples[0]!, device, 'evt-1');
  const bad = {
    ...rendered,
    argv: ['x'],
    process: { ...(rendered.process as object), ppid: 1 },
    activity_id: 9,
  };
  const problems = v.validate(bad);
  assert.ok(
    problems.some((p) => p.startsWith('argv:')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('process.ppid:')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('activity_id 9')),
    problems.join('\n'),
  );
});
