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

// Remediation events (7002 file, 7003 process, 7004 network), as the agent reports response actions.
const remediation = {
  commandUid: 'c0ffee00-0000-4000-8000-000000000001',
  technique: 'Process Termination',
  techniqueUid: 'D3-PT',
};
samples.push(
  create(EventSchema, {
    classUid: 7003,
    activityId: 2,
    timeMs: 1n,
    statusId: 1,
    message: 'killed',
    process: proc,
    remediation,
  }),
  create(EventSchema, {
    classUid: 7002,
    activityId: 2,
    timeMs: 1n,
    statusId: 2,
    statusDetail: 'no file /tmp/x',
    file: { path: '/tmp/x', name: 'x', typeId: 1, size: 5n },
    remediation: {
      ...remediation,
      technique: 'File Eviction',
      statusCode: 'not_found',
      fileSha256: 'ab'.repeat(32),
      quarantineId: 'q1',
      reason: 'miner',
    },
  }),
  create(EventSchema, {
    classUid: 7004,
    activityId: 1,
    timeMs: 1n,
    statusId: 1,
    connectionInfo: { directionId: 99 },
    remediation: { ...remediation, technique: 'Network Isolation', techniqueUid: 'D3-NI' },
  }),
  create(EventSchema, {
    classUid: 7004,
    activityId: 3,
    timeMs: 1n,
    statusId: 3,
    connectionInfo: { directionId: 99 },
    remediation,
  }),
);

test('remediation events carry what their classes require: a command_uid and the object acted on', () => {
  const v = new OcsfValidator();
  const good = toOcsf(samples.find((e) => e.classUid === 7003)!, device, 'evt-1');
  assert.equal(good.command_uid, remediation.commandUid);
  assert.deepEqual((good.countermeasures as object[])[0], {
    d3f_tactic: { name: 'Evict' },
    d3f_technique: { name: 'Process Termination', uid: 'D3-PT' },
  });
  const file = toOcsf(samples.find((e) => e.classUid === 7002)!, device, 'evt-2');
  assert.deepEqual((file.file as Record<string, unknown>).hashes, [
    { algorithm_id: 3, algorithm: 'SHA-256', value: 'ab'.repeat(32) },
  ]);
  const { command_uid: _, process: __, ...bare } = good;
  const problems = v.validate(bare);
  assert.ok(
    problems.some((p) => p.startsWith('command_uid')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('process')),
    problems.join('\n'),
  );
  assert.ok(v.validate({ ...good, status_id: 7 }).some((p) => p.includes('status_id')));
});

test('every event class Palisade renders conforms to the OCSF schema in ../shared/data/ocsf', () => {
  const v = new OcsfValidator();
  for (const e of samples) {
    const rendered = toOcsf(e, device, 'evt-1');
    assert.deepEqual(v.validate(rendered), [], `class ${e.classUid} activity ${e.activityId}`);
  }
  const render = (p: AuthProvenance) => toOcsf(samples.find((e) => e.authProvenance === p)!, device, 'evt-1');
  const [verified, forged] = [render(AuthProvenance.VERIFIED), render(AuthProvenance.FORGED)];
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
