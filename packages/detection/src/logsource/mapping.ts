import type { Event } from '@palisade/protocol';
import {
  AUDIT_NAMETYPES,
  AUDIT_SYSCALLS,
  AUDIT_TYPES,
  auditFields,
  auditRecords,
  auditTypeOf,
} from './auditd.js';
import { authFields, sudoFields } from './auth-fields.js';
import { ACTING, actorProc, COMMON, type Getter, proc, processFields, s, userName } from './fields.js';

/** SourceField is one Sigma field of a log source and how it is read from a wire event. */
export interface SourceField {
  name: string;
  get: Getter;
  doc: string;
  /** The only values the field can take, when finite (lets the loader prove a rule can never match). */
  domain?: string[];
  /** The field says little about an event (record types, directions): not used to prefilter. */
  lowSelectivity?: boolean;
}

/**
 * LogSourceDef is one row of the mapping table: a Sigma log source (or one of Palisade's own
 * where Sigma has none), which of Palisade's events belong to it, and its fields.
 */
export interface LogSourceDef {
  id: string;
  category?: string;
  service?: string;
  /** Palisade's own log source, not one of Sigma's taxonomy. */
  palisade?: boolean;
  /** Also evaluated for rules that name only `product: linux`. */
  generic?: boolean;
  /** Which events (OCSF class and activity) it holds, for the documentation. */
  events: string;
  /** OCSF type_uids (class_uid * 100 + activity_id) that may belong to it. */
  typeUids: number[];
  /** A finer test, where the type is not enough (auth services). */
  accepts?: (e: Event) => boolean;
  /** Multi-record views (auditd): the records an event becomes. */
  records?: (e: Event) => number[];
  /**
   * Split the source into one partition per value of a record field (auditd: per record type),
   * so a rule for EXECVE records is never evaluated on SYSCALL or PATH records.
   */
  split?: { field: string; values: string[]; of: (rec: number) => string };
  fields: SourceField[];
  /** Fields a keyword (unnamed) search looks in. */
  keywords: string[];
  note?: string;
}

const f = (
  rows: [string, Getter, string][],
  extra: Partial<Record<string, Partial<SourceField>>> = {},
): SourceField[] => rows.map(([name, get, doc]) => ({ name, get, doc, ...extra[name] }));

const DIRECTION = { lowSelectivity: true, domain: ['true', 'false'] };
const initiated: Getter = (e) => {
  const d = e.connectionInfo?.directionId;
  return d === 2 ? 'true' : d === 1 ? 'false' : undefined;
};
const protocol: Getter = (e) => {
  const c = e.connectionInfo;
  if (!c) return undefined;
  return c.protocolName || (c.protocolNum === 6 ? 'tcp' : c.protocolNum === 17 ? 'udp' : undefined);
};
const isV6 = (ip: string | undefined) => (ip ? (ip.includes(':') ? 'true' : 'false') : undefined);
const uidOf = (e: Event) => e.process?.user;

const ACTIVITY_NAMES: Record<number, string> = {
  1: 'Open',
  2: 'Close',
  3: 'Reset',
  4: 'Fail',
  5: 'Refuse',
  6: 'Traffic',
  7: 'Listen',
};

const processCreation: [string, Getter, string][] = [
  ...processFields(proc, ACTING),
  [
    'OriginalFileName',
    (e) => (e.process?.path ? e.process.path.slice(e.process.path.lastIndexOf('/') + 1) : undefined),
    'executable file name',
  ],
  ['LogonId', (e) => (uidOf(e) ? uidOf(e)!.auid : undefined), 'login uid (auid; 4294967295 when unset)'],
  ['TerminalSessionId', (e) => e.process?.sessionId || undefined, 'session id'],
  ['UserId', (e) => s(uidOf(e)?.uid), 'real uid'],
  [
    'EffectiveUserId',
    (e) => (uidOf(e) ? uidOf(e)!.euid : undefined),
    'effective uid (differs from UserId for setuid programs)',
  ],
  ['Tty', (e) => s(e.process?.tty), 'controlling terminal'],
  ['CgroupId', (e) => (e.process?.cgroupId ? e.process.cgroupId.toString() : undefined), 'cgroup id'],
  // Sensor telemetry in progress (issue 11): each is one line here once the wire has it, e.g.
  // ['Hashes', (e) => e.process?.file?.sha256 ? `SHA256=${...}` : undefined, 'SHA256=...'],
  // ['ContainerId', (e) => s(e.process?.container?.uid), 'container id'],
  ...COMMON,
];

const actingShort = processFields(proc, {
  image: 'Image',
  commandLine: 'CommandLine',
  processId: 'ProcessId',
  processGuid: 'ProcessGuid',
  user: 'User',
  parentImage: 'ParentImage',
  parentCommandLine: 'ParentCommandLine',
});

const accessFields: [string, Getter, string][] = [
  ...processFields(actorProc, {
    image: 'SourceImage',
    commandLine: 'SourceCommandLine',
    processId: 'SourceProcessId',
    processGuid: 'SourceProcessGuid',
    user: 'SourceUser',
    parentImage: 'SourceParentImage',
  }),
  ...processFields(proc, {
    image: 'TargetImage',
    commandLine: 'TargetCommandLine',
    processId: 'TargetProcessId',
    processGuid: 'TargetProcessGuid',
    user: 'TargetUser',
    parentImage: 'TargetParentImage',
  }),
  // The injection method (ptrace attach, POKETEXT, process_vm_writev, /proc/PID/mem) becomes
  // GrantedAccess once the wire carries it (issue 11).
  ...COMMON,
];

/**
 * MAPPING is THE table from Palisade's events to Sigma log sources. docs/detection.md shows it
 * (rendered by renderMappingTable; a test keeps the two equal). Adding telemetry is adding a
 * row, a type_uid to a row, or a field line.
 */
export const MAPPING: LogSourceDef[] = [
  {
    id: 'process_creation',
    category: 'process_creation',
    generic: true,
    events: 'Process Activity (1007) Launch (1)',
    typeUids: [100701],
    fields: f(processCreation),
    keywords: ['CommandLine'],
  },
  {
    id: 'process_termination',
    category: 'process_termination',
    events: 'Process Activity Terminate (2)',
    typeUids: [100702],
    fields: f([
      ...actingShort,
      ['ExitCode', (e) => (e.hasExitCode ? e.exitCode : undefined), 'exit code (128 + signal when killed)'],
      ['Signal', (e) => e.exitSignal || undefined, 'the signal that killed it'],
      ...COMMON,
    ]),
    keywords: ['CommandLine'],
  },
  {
    id: 'process_access',
    category: 'process_access',
    events: 'Process Activity Inject (4): the actor is Source, the process Target',
    typeUids: [100704],
    fields: f(accessFields),
    keywords: ['SourceCommandLine', 'TargetCommandLine'],
  },
  {
    id: 'create_remote_thread',
    category: 'create_remote_thread',
    events:
      'Process Activity Inject (4) (memory written into another process: ptrace pokes, process_vm_writev)',
    typeUids: [100704],
    fields: f(accessFields),
    keywords: ['SourceCommandLine', 'TargetCommandLine'],
  },
  {
    id: 'privilege_change',
    category: 'privilege_change',
    palisade: true,
    events: 'Process Activity Set User ID (5): User is after the change, PreviousUser before',
    typeUids: [100705],
    fields: f([
      ...actingShort,
      ['UserId', (e) => s(uidOf(e)?.uid), 'real uid after'],
      ['EffectiveUserId', (e) => (uidOf(e) ? uidOf(e)!.euid : undefined), 'effective uid after'],
      ['PreviousUser', (e) => userName(e.actorUser), 'user before the change'],
      ['PreviousUserId', (e) => s(e.actorUser?.uid), 'uid before the change'],
      ...COMMON,
    ]),
    keywords: ['CommandLine'],
  },
  {
    id: 'file_event',
    category: 'file_event',
    events: 'File System Activity (1001) Create (1), Update (3); Rename (5) as its new name',
    typeUids: [100101, 100103, 100105],
    fields: f([
      [
        'TargetFilename',
        (e) => s(e.activityId === 5 ? e.fileResult?.path : e.file?.path),
        'the file written (a rename: its new name)',
      ],
      ...actingShort,
      [
        'CreationUtcTime',
        (e) =>
          e.activityId === 1
            ? new Date(Number(e.timeMs)).toISOString().replace('T', ' ').replace('Z', '')
            : undefined,
        'when a new file was created',
      ],
      ...COMMON,
    ]),
    keywords: ['TargetFilename'],
  },
  {
    id: 'file_delete',
    category: 'file_delete',
    events: 'File System Activity Delete (4)',
    typeUids: [100104],
    fields: f([['TargetFilename', (e) => s(e.file?.path), 'the file deleted'], ...actingShort, ...COMMON]),
    keywords: ['TargetFilename'],
  },
  {
    id: 'file_rename',
    category: 'file_rename',
    events: 'File System Activity Rename (5)',
    typeUids: [100105],
    fields: f([
      ['SourceFilename', (e) => s(e.file?.path), 'old name'],
      ['TargetFilename', (e) => s(e.fileResult?.path), 'new name'],
      ...actingShort,
      ...COMMON,
    ]),
    keywords: ['SourceFilename', 'TargetFilename'],
  },
  {
    id: 'network_connection',
    category: 'network_connection',
    events: 'Network Activity (4001) Open (1), Fail (4), Refuse (5), Traffic (6)',
    typeUids: [400101, 400104, 400105, 400106],
    fields: f(
      [
        ...actingShort,
        ['Initiated', initiated, "'true' when this host connected out, 'false' when it accepted"],
        ['Protocol', protocol, 'tcp or udp'],
        ['SourceIp', (e) => s(e.srcEndpoint?.ip), 'initiating side'],
        ['SourcePort', (e) => e.srcEndpoint?.port || undefined, ''],
        ['SourceHostname', (e) => s(e.srcEndpoint?.hostname), ''],
        ['SourceIsIpv6', (e) => isV6(e.srcEndpoint?.ip), ''],
        ['DestinationIp', (e) => s(e.dstEndpoint?.ip), 'accepting side'],
        ['DestinationPort', (e) => e.dstEndpoint?.port || undefined, ''],
        ['DestinationHostname', (e) => s(e.dstEndpoint?.hostname), 'set only when the sensor knows the name'],
        ['DestinationIsIpv6', (e) => isV6(e.dstEndpoint?.ip), ''],
        ['Status', (e) => ACTIVITY_NAMES[e.activityId], 'Open, Fail, Refuse or Traffic (Palisade)'],
        ...COMMON,
      ],
      {
        Initiated: DIRECTION,
        SourceIsIpv6: DIRECTION,
        DestinationIsIpv6: DIRECTION,
        Protocol: { lowSelectivity: true },
        Status: { lowSelectivity: true },
      },
    ),
    keywords: ['DestinationHostname', 'DestinationIp'],
  },
  {
    id: 'network_listen',
    category: 'network_listen',
    palisade: true,
    events: 'Network Activity Listen (7)',
    typeUids: [400107],
    fields: f(
      [
        ...actingShort,
        ['Protocol', protocol, 'tcp or udp'],
        ['LocalIp', (e) => s(e.srcEndpoint?.ip), 'address listened on'],
        ['LocalPort', (e) => e.srcEndpoint?.port || undefined, 'port listened on'],
        ...COMMON,
      ],
      { Protocol: { lowSelectivity: true } },
    ),
    keywords: ['CommandLine'],
  },
  {
    id: 'dns_query',
    category: 'dns_query',
    events: 'DNS Activity (4003) Query (1)',
    typeUids: [400301],
    fields: f([
      ['QueryName', (e) => s(e.query?.hostname), 'the name asked for'],
      ['QueryType', (e) => s(e.query?.type), 'A, AAAA, TXT, ...'],
      ...actingShort,
      ['DestinationIp', (e) => s(e.dstEndpoint?.ip), 'the resolver'],
      ...COMMON,
    ]),
    keywords: ['QueryName'],
  },
  {
    id: 'auth',
    service: 'auth',
    generic: true,
    events: 'Authentication (3002), all: the auth log line in raw_data',
    typeUids: [300201, 300202, 300207],
    fields: f([...authFields(), ...COMMON], { Outcome: { lowSelectivity: true } }),
    keywords: ['RawLine'],
  },
  {
    id: 'syslog',
    service: 'syslog',
    events: 'Authentication (3002): the auth/authpriv part of syslog',
    typeUids: [300201, 300202, 300207],
    fields: f([...authFields(), ...COMMON], { Outcome: { lowSelectivity: true } }),
    keywords: ['RawLine'],
    note: "only the authentication lines of syslog are collected (auth.log or the journal's auth and authpriv entries)",
  },
  {
    id: 'sshd',
    service: 'sshd',
    events: 'Authentication by sshd',
    typeUids: [300201, 300202],
    accepts: (e) => e.serviceName === 'sshd' || (e.process?.name ?? '').startsWith('sshd'),
    fields: f([...authFields(), ...COMMON], { Outcome: { lowSelectivity: true } }),
    keywords: ['RawLine'],
    note: "the agent keeps sshd's authentication outcomes; other sshd messages are not collected",
  },
  {
    id: 'sudo',
    service: 'sudo',
    events: 'Authentication by sudo (Account Switch)',
    typeUids: [300201, 300207],
    accepts: (e) => e.serviceName === 'sudo',
    fields: f([...sudoFields(), ...authFields(), ...COMMON], { Outcome: { lowSelectivity: true } }),
    keywords: ['RawLine'],
  },
  {
    id: 'su',
    service: 'su',
    palisade: true,
    events: 'Authentication by su (Account Switch)',
    typeUids: [300201, 300207],
    accepts: (e) => e.serviceName === 'su',
    fields: f([...authFields(), ...COMMON], { Outcome: { lowSelectivity: true } }),
    keywords: ['RawLine'],
  },
  {
    id: 'auditd',
    service: 'auditd',
    events: 'exec, file and connect events as the auditd records they correspond to',
    typeUids: [100701, 100101, 100103, 100104, 100105, 400101],
    records: auditRecords,
    split: { field: 'type', values: AUDIT_TYPES, of: auditTypeOf },
    fields: f(auditFields(), {
      type: { domain: AUDIT_TYPES, lowSelectivity: true },
      SYSCALL: { domain: AUDIT_SYSCALLS, lowSelectivity: true },
      nametype: { domain: AUDIT_NAMETYPES, lowSelectivity: true },
      success: { domain: ['yes', 'no'], lowSelectivity: true },
    }),
    keywords: ['exe', 'comm', 'name', 'cwd', ...Array.from({ length: 32 }, (_, i) => `a${i}`)],
    note: 'a view built from the kernel sensor, not auditd itself: no audit keys, only the syscalls listed',
  },
];

/**
 * NOT_COLLECTED names log sources Sigma rules use that Palisade does not collect, with why —
 * a rule for them is reported unsupported with this reason, never dropped silently.
 */
export const NOT_COLLECTED: { category?: string; service?: string; reason: string }[] = [
  {
    service: 'cron',
    reason:
      "cron's own log (syslog facility cron) is not collected; crontab changes show as file_event on /var/spool/cron",
  },
  { service: 'vsftpd', reason: 'vsftpd logs are not collected' },
  { service: 'clamav', reason: 'ClamAV logs are not collected' },
  { service: 'guacamole', reason: 'Apache Guacamole logs are not collected' },
  { service: 'modsecurity', reason: 'ModSecurity logs are not collected' },
  { category: 'webserver', reason: 'web server access logs are not collected' },
  { category: 'proxy', reason: 'proxy logs are not collected' },
  { category: 'firewall', reason: 'firewall logs are not collected' },
  {
    category: 'file_access',
    reason: 'file reads are not collected (the sensor reports opens for write, deletes and renames)',
  },
  { category: 'file_change', reason: 'file time changes are not collected' },
  { category: 'image_load', reason: 'library loads are not collected' },
  {
    category: 'driver_load',
    reason: 'kernel module loads are not collected (this kernel has no module support)',
  },
  { category: 'raw_access_read', reason: 'raw disk reads are not collected' },
  { category: 'sysmon_status', reason: 'Palisade is not Sysmon' },
];
