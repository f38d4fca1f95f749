import { create, type Event, EventSchema, OcsfClass } from '@palisade/protocol';
import type {
  AgentRecord,
  ApiTokenRecord,
  GroupRecord,
  IncomingBatch,
  RegistrationKeyRecord,
} from './types.js';

/** T0 is the fixed instant fixtures are built around (2026-01-01T00:00:00Z). */
export const T0 = Date.UTC(2026, 0, 1);

let counter = 0;
/** uniqueId returns an id no other fixture in this process uses. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** groupFixture builds a group record with a full policy. */
export function groupFixture(over: Partial<GroupRecord> = {}): GroupRecord {
  const id = over.id ?? uniqueId('grp');
  return {
    id,
    name: over.name ?? `group ${id}`,
    createdAt: over.createdAt ?? T0,
    policy: over.policy ?? {
      revision: 1,
      tier: 'workstation',
      channel: 'stable',
      maintenanceWindow: { days: [1, 3, 5], start: '22:00', end: '04:30', timeZone: 'Europe/Berlin' },
    },
  };
}

/** keyFixture builds a registration key for `groupId`. */
export function keyFixture(
  groupId: string,
  over: Partial<RegistrationKeyRecord> = {},
): RegistrationKeyRecord {
  const id = over.id ?? uniqueId('key');
  return {
    id,
    groupId,
    secretHash: over.secretHash ?? `hash-${id}`.padEnd(64, '0'),
    prefix: over.prefix ?? 'pk_abcd',
    createdAt: over.createdAt ?? T0,
    expiresAt: over.expiresAt ?? T0 + 365 * 86_400_000,
    revokedAt: over.revokedAt ?? null,
    rotatedFrom: over.rotatedFrom ?? null,
    maxUses: over.maxUses ?? null,
  };
}

/** agentFixture builds an agent of `groupId` enrolled with `keyId`. */
export function agentFixture(groupId: string, keyId: string, over: Partial<AgentRecord> = {}): AgentRecord {
  const id = over.id ?? uniqueId('agt');
  return {
    id,
    groupId,
    keyId,
    host: over.host ?? {
      hostname: `host-${id}`,
      os: 'linux',
      osVersion: 'Debian GNU/Linux 12 (bookworm)',
      kernel: '6.18.0',
      arch: 'x86_64',
      machineId: `mid-${id}`,
      agentVersion: '0.1.0',
      ipAddresses: ['10.0.0.5', 'fe80::1'],
    },
    certFingerprint: over.certFingerprint ?? `cert-${id}`,
    publicKeyFingerprint: over.publicKeyFingerprint ?? `spki-${id}`,
    certNotAfter: over.certNotAfter === undefined ? T0 + 365 * 86_400_000 : over.certNotAfter,
    certCaSha256: over.certCaSha256 === undefined ? 'ca-1' : over.certCaSha256,
    pendingCert: over.pendingCert ?? null,
    registeredAt: over.registeredAt ?? T0,
    lastSeenAt: over.lastSeenAt ?? null,
    revokedAt: over.revokedAt ?? null,
    revocationReason: over.revocationReason ?? null,
    decommissionedAt: over.decommissionedAt ?? null,
    pinnedCaSha256: over.pinnedCaSha256 ?? [],
    policyRevision: over.policyRevision ?? 0,
    capabilities: over.capabilities ?? [],
    stats: over.stats ?? {},
  };
}

/** tokenFixture builds an API token record. */
export function tokenFixture(over: Partial<ApiTokenRecord> = {}): ApiTokenRecord {
  const id = over.id ?? uniqueId('tok');
  return {
    id,
    name: over.name ?? `token ${id}`,
    role: over.role ?? 'viewer',
    secretHash: over.secretHash ?? `tokhash-${id}`,
    createdAt: over.createdAt ?? T0,
    revokedAt: over.revokedAt ?? null,
    expiresAt: over.expiresAt ?? null,
  };
}

/** processEvent builds a realistic process launch (or, with activityId 2, exit) event. */
export function processEvent(
  i: number,
  over: { timeMs?: number; activityId?: number; cmd?: string } = {},
): Event {
  const cmd = over.cmd ?? `/usr/bin/ls -la /srv/data/run-${i}`;
  const argv = cmd.split(' ');
  return create(EventSchema, {
    classUid: OcsfClass.ProcessActivity,
    activityId: over.activityId ?? 1,
    timeMs: BigInt(over.timeMs ?? T0 + i * 1000),
    severityId: 1,
    process: {
      pid: 4000 + i,
      uid: `proc-${i}`,
      name: argv[0]!.slice(argv[0]!.lastIndexOf('/') + 1),
      path: argv[0]!,
      cmdLine: cmd,
      argv,
      cwd: '/home/alice',
      createdTimeMs: BigInt(over.timeMs ?? T0 + i * 1000),
      user: { uid: '1000', name: 'alice', gid: 1000, euid: 1000, egid: 1000 },
      parent: { pid: 3999, uid: 'proc-parent', name: 'bash', path: '/usr/bin/bash', cmdLine: '-bash' },
      ppid: 3999,
      cgroupId: 4242n,
    },
    ...(over.activityId === 2 ? { exitCode: 3, hasExitCode: true } : {}),
  });
}

/** fileEvent builds a file modification event for `path`. */
export function fileEvent(i: number, path: string, timeMs = T0 + i * 1000): Event {
  return create(EventSchema, {
    classUid: OcsfClass.FileSystemActivity,
    activityId: 3,
    timeMs: BigInt(timeMs),
    severityId: 1,
    process: { pid: 77, uid: 'proc-editor', name: 'vim', path: '/usr/bin/vim', cmdLine: 'vim notes.txt' },
    file: { path, name: path.slice(path.lastIndexOf('/') + 1), typeId: 1, size: 12n },
  });
}

/** authEvent builds a failed ssh logon carrying its original log line as raw data. */
export function authEvent(i: number, rawData: string, timeMs = T0 + i * 1000): Event {
  return create(EventSchema, {
    classUid: OcsfClass.Authentication,
    activityId: 1,
    timeMs: BigInt(timeMs),
    severityId: 3,
    statusId: 2,
    rawData,
    user: { name: 'root' },
    authProtocol: 'password',
    serviceName: 'sshd',
    isRemote: true,
    srcEndpoint: { ip: '192.0.2.7', port: 50022 },
  });
}

/** batch builds an IncomingBatch. */
export function batch(
  agentId: string,
  seq: bigint | number,
  events: Event[],
  receivedAt = T0,
): IncomingBatch {
  return { agentId, seq: BigInt(seq), events, receivedAt };
}
