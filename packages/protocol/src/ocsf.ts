import type { Event, Process, SensorCredentials, User } from './gen/palisade/v1/event_pb.js';

/** OCSF_VERSION is the OCSF schema version Palisade's events follow. */
export const OCSF_VERSION = '1.8.0';

/** OCSF event classes Palisade emits. */
export const OcsfClass = {
  FileSystemActivity: 1001,
  ProcessActivity: 1007,
  Authentication: 3002,
  NetworkActivity: 4001,
  DnsActivity: 4003,
  DetectionFinding: 2004,
  FileRemediation: 7002,
  ProcessRemediation: 7003,
  NetworkRemediation: 7004,
} as const;

interface ClassInfo {
  name: string;
  category: number;
  activities: Record<number, string>;
}

const CATEGORY_NAMES: Record<number, string> = {
  1: 'System Activity',
  2: 'Findings',
  3: 'Identity & Access Management',
  4: 'Network Activity',
  7: 'Remediation',
};

/** REMEDIATION_ACTIVITIES are the activities of the Remediation classes (D3FEND tactics). */
export const REMEDIATION_ACTIVITIES: Record<number, string> = {
  1: 'Isolate',
  2: 'Evict',
  3: 'Restore',
  4: 'Harden',
  5: 'Detect',
  6: 'Deceive',
};

/** CLASSES names each class and its activities, as the OCSF schema does. */
export const CLASSES: Record<number, ClassInfo> = {
  1001: {
    name: 'File System Activity',
    category: 1,
    activities: {
      1: 'Create',
      2: 'Read',
      3: 'Update',
      4: 'Delete',
      5: 'Rename',
      6: 'Set Attributes',
      7: 'Set Security',
      8: 'Get Attributes',
      9: 'Get Security',
      10: 'Encrypt',
      11: 'Decrypt',
      12: 'Mount',
      13: 'Unmount',
      14: 'Open',
    },
  },
  1007: {
    name: 'Process Activity',
    category: 1,
    activities: { 1: 'Launch', 2: 'Terminate', 3: 'Open', 4: 'Inject', 5: 'Set User ID' },
  },
  3002: {
    name: 'Authentication',
    category: 3,
    activities: {
      1: 'Logon',
      2: 'Logoff',
      3: 'Authentication Ticket',
      4: 'Service Ticket Request',
      5: 'Service Ticket Renew',
      6: 'Preauth',
      7: 'Account Switch',
    },
  },
  4001: {
    name: 'Network Activity',
    category: 4,
    activities: { 1: 'Open', 2: 'Close', 3: 'Reset', 4: 'Fail', 5: 'Refuse', 6: 'Traffic', 7: 'Listen' },
  },
  4003: { name: 'DNS Activity', category: 4, activities: { 1: 'Query', 2: 'Response', 6: 'Traffic' } },
  7002: { name: 'File Remediation Activity', category: 7, activities: REMEDIATION_ACTIVITIES },
  7003: { name: 'Process Remediation Activity', category: 7, activities: REMEDIATION_ACTIVITIES },
  7004: { name: 'Network Remediation Activity', category: 7, activities: REMEDIATION_ACTIVITIES },
};

/** Class names accepted by search APIs and the CLI, mapped to class_uid. */
export const CLASS_ALIASES: Record<string, number> = {
  process: 1007,
  file: 1001,
  network: 4001,
  netflow: 4001,
  dns: 4003,
  auth: 3002,
  authentication: 3002,
  'file-remediation': 7002,
  'process-remediation': 7003,
  'network-remediation': 7004,
};

const SEVERITY: Record<number, string> = {
  0: 'Unknown',
  1: 'Informational',
  2: 'Low',
  3: 'Medium',
  4: 'High',
  5: 'Critical',
  6: 'Fatal',
};
const STATUS: Record<number, string> = {
  0: 'Unknown',
  1: 'Success',
  2: 'Failure',
  // Remediation classes add these.
  3: 'Does Not Exist',
  4: 'Partial',
  5: 'Unsupported',
  6: 'Error',
  99: 'Other',
};

/**
 * AuthProvenance is Event.auth_provenance: how far the origin of an authentication record could
 * be checked (ADR 0018).
 * - VERIFIED: a journal record whose trusted fields (set by journald from the kernel, not by the
 *   sender) show the program it speaks for (its _EXE in the agent's trusted-program table)
 *   running privileged (_UID 0, or CAP_SETUID effective for setuid programs such as su).
 * - UNVERIFIED: nothing says who wrote it: lines of auth log files, wtmp/btmp and audit records,
 *   and journal records from privileged processes that are not in the trusted-program table.
 * - FORGED: a journal record that speaks for an authentication program but was sent by an
 *   unprivileged process: a local user forging an authentication record (status Other, 99).
 */
export const AuthProvenance = { UNSPECIFIED: 0, VERIFIED: 1, UNVERIFIED: 2, FORGED: 3 } as const;
export type AuthProvenance = (typeof AuthProvenance)[keyof typeof AuthProvenance];

/**
 * How an Authentication event's origin was checked (AuthProvenance), rendered as
 * `unmapped.provenance`: OCSF has no attribute for whether a log record's sender is who it says.
 */
export const AUTH_PROVENANCE_NAMES: Record<number, string> = {
  1: 'verified',
  2: 'unverified',
  3: 'forged',
};

/** DeviceInfo is what the server knows about the agent's host; it becomes the OCSF device. */
export interface DeviceInfo {
  agentId: string;
  hostname: string;
  os: string;
  osVersion: string;
  kernel: string;
  arch: string;
  machineId: string;
  agentVersion: string;
}

/** OcsfEvent is an OCSF event as JSON. */
export type OcsfEvent = Record<string, unknown>;

function user(u: User | undefined): Record<string, unknown> | undefined {
  if (!u) return undefined;
  const out: Record<string, unknown> = {};
  if (u.uid !== '') out.uid = u.uid;
  if (u.name !== '') out.name = u.name;
  return Object.keys(out).length ? out : undefined;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

function processObj(p: Process | undefined, depth = 0): Record<string, unknown> | undefined {
  if (!p) return undefined;
  const out: Record<string, unknown> = { pid: p.pid };
  if (p.uid) out.uid = p.uid;
  if (p.name) out.name = p.name;
  if (p.path) {
    out.path = p.path;
    const file: Record<string, unknown> = { path: p.path, name: basename(p.path), type_id: 1 };
    if (p.fileSha256) file.hashes = [{ algorithm_id: 3, algorithm: 'SHA-256', value: p.fileSha256 }];
    if (p.exeDeleted) file.is_deleted = true;
    out.file = file;
  }
  if (p.cmdLine) out.cmd_line = p.cmdLine;
  if (p.cwd) out.working_directory = p.cwd;
  if (p.createdTimeMs) out.created_time = Number(p.createdTimeMs);
  if (p.tid) out.tid = p.tid;
  const c = containerObj(p);
  if (c) out.container = c;
  const u = user(p.user);
  if (u) out.user = u;
  if (p.sessionId || p.tty) {
    out.session = {
      ...(p.sessionId ? { uid: String(p.sessionId) } : {}),
      ...(p.tty ? { terminal: p.tty } : {}),
    };
  }
  if (p.parent && depth === 0) out.parent_process = processObj(p.parent, depth + 1);
  else if (p.ppid && depth === 0) out.parent_process = { pid: p.ppid };
  return out;
}

/** Process.hash_state names (0 not computed and 1 done are not rendered). */
const HASH_STATES: Record<number, string> = { 2: 'pending', 3: 'skipped' };

/** credsObj renders SensorCredentials (a Set User ID event's before and after) under `unmapped`. */
function credsObj(c: SensorCredentials): Record<string, unknown> {
  return {
    uid: c.uid,
    euid: c.euid,
    suid: c.suid,
    gid: c.gid,
    egid: c.egid,
    sgid: c.sgid,
    cap_effective: `0x${c.capEffective.toString(16)}`,
    cap_permitted: `0x${c.capPermitted.toString(16)}`,
  };
}

/** containerObj is the OCSF container of a process whose cgroup names one. */
function containerObj(p: Process | undefined): Record<string, unknown> | undefined {
  if (!p?.containerId) return undefined;
  return { uid: p.containerId, name: p.containerId.slice(0, 12), runtime: p.containerRuntime };
}

/**
 * Linux-only process facts that OCSF has no attribute for (argv, cgroup, effective ids) go under
 * `unmapped`, keyed by their path, as OCSF prescribes.
 */
function unmappedProcess(p: Process | undefined, prefix: string, into: Record<string, unknown>): void {
  if (!p) return;
  if (p.argv.length) into[`${prefix}.argv`] = p.argv;
  if (p.argvTruncated) into[`${prefix}.argv_truncated`] = true;
  if (p.ppid) into[`${prefix}.ppid`] = p.ppid;
  if (p.cgroupId) into[`${prefix}.cgroup_id`] = p.cgroupId.toString();
  if (p.cgroupPath) into[`${prefix}.cgroup_path`] = p.cgroupPath;
  if (p.exeNoFile) into[`${prefix}.file.no_file_on_disk`] = true;
  if (p.hashState > 1) into[`${prefix}.file.hash_state`] = HASH_STATES[p.hashState] ?? 'unknown';
  if (p.pidNs)
    into[`${prefix}.namespaces`] = { pid: Number(p.pidNs), mnt: Number(p.mntNs), net: Number(p.netNs) };
  if (p.user) {
    if (p.user.gid) into[`${prefix}.user.gid`] = p.user.gid;
    if (p.user.euid || p.user.uid !== String(p.user.euid)) into[`${prefix}.user.euid`] = p.user.euid;
    if (p.user.egid) into[`${prefix}.user.egid`] = p.user.egid;
  }
}

/**
 * toOcsf renders one wire Event as OCSF JSON: the base event attributes (class, category,
 * activity, type_uid, time, severity, metadata), the device from `device`, and the class's own
 * objects. `uid` is the server-assigned event id.
 */
export function toOcsf(e: Event, device: DeviceInfo, uid: string, loggedTimeMs?: number): OcsfEvent {
  const info = CLASSES[e.classUid];
  const category = info?.category ?? Math.floor(e.classUid / 1000);
  const out: OcsfEvent = {
    class_uid: e.classUid,
    class_name: info?.name ?? 'Unknown',
    category_uid: category,
    category_name: CATEGORY_NAMES[category] ?? 'Unknown',
    activity_id: e.activityId,
    activity_name: info?.activities[e.activityId] ?? 'Unknown',
    type_uid: e.classUid * 100 + e.activityId,
    type_name: `${info?.name ?? 'Unknown'}: ${info?.activities[e.activityId] ?? 'Unknown'}`,
    time: Number(e.timeMs),
    severity_id: e.severityId || 1,
    severity: SEVERITY[e.severityId || 1],
    metadata: {
      uid,
      version: OCSF_VERSION,
      profiles: ['host'],
      product: { name: 'Palisade', vendor_name: 'Palisade', version: device.agentVersion },
      ...(loggedTimeMs ? { logged_time: loggedTimeMs } : {}),
    },
    device: {
      uid: device.agentId,
      hostname: device.hostname,
      name: device.hostname,
      type_id: 0,
      os: {
        name: device.osVersion || device.os,
        type: device.os === 'linux' ? 'Linux' : device.os,
        type_id: device.os === 'linux' ? 200 : 0,
        kernel_release: device.kernel,
      },
      ...(device.machineId ? { os_machine_uuid: device.machineId } : {}),
    },
  };
  if (e.statusId) {
    out.status_id = e.statusId;
    out.status = STATUS[e.statusId] ?? 'Other';
  }
  if (e.statusDetail) out.status_detail = e.statusDetail;
  if (e.statusCode) out.status_code = e.statusCode;
  if (e.message) out.message = e.message;
  if (e.rawData) out.raw_data = e.rawData;

  const unmapped: Record<string, unknown> = {};
  if (e.remediation || (e.classUid >= 7001 && e.classUid <= 7004)) {
    remediation(e, out, unmapped);
    if (Object.keys(unmapped).length) out.unmapped = unmapped;
    return out;
  }
  const proc = processObj(e.process);
  const actorProc = processObj(e.actorProcess);
  if (e.classUid === OcsfClass.ProcessActivity) {
    if (proc) out.process = proc;
    unmappedProcess(e.process, 'process', unmapped);
    // The actor of a launch is the parent; of a self-exit, the process itself.
    const actor: Record<string, unknown> = {};
    if (actorProc) actor.process = actorProc;
    else if (proc) actor.process = e.activityId === 1 && proc.parent_process ? proc.parent_process : proc;
    const au = user(e.actorUser) ?? (proc?.user as Record<string, unknown> | undefined);
    if (au) actor.user = au;
    out.actor = actor;
    if (e.hasExitCode) out.exit_code = e.exitCode;
    if (e.injectionType) {
      out.injection_type_id = 99;
      out.injection_type = e.injectionType;
      unmappedProcess(e.actorProcess, 'actor.process', unmapped);
    }
    if (e.credsBefore) unmapped.credentials_before = credsObj(e.credsBefore);
    if (e.credsAfter) unmapped.credentials_after = credsObj(e.credsAfter);
    if (e.exitSignal) unmapped.exit_signal = e.exitSignal;
  } else {
    const actor: Record<string, unknown> = {};
    if (proc) actor.process = proc;
    if (actorProc && !proc) actor.process = actorProc;
    const au = user(e.actorUser) ?? (proc?.user as Record<string, unknown> | undefined);
    if (au) actor.user = au;
    if (Object.keys(actor).length) out.actor = actor;
    unmappedProcess(e.process, 'actor.process', unmapped);
  }
  if (e.file) out.file = fileObj(e.file);
  if (e.fileResult) out.file_result = fileObj(e.fileResult);
  if (e.srcEndpoint) out.src_endpoint = endpoint(e.srcEndpoint);
  if (e.dstEndpoint) out.dst_endpoint = endpoint(e.dstEndpoint);
  if (e.connectionInfo) {
    const c = e.connectionInfo;
    out.connection_info = {
      protocol_num: c.protocolNum,
      ...(c.protocolName ? { protocol_name: c.protocolName } : {}),
      ...(c.directionId
        ? { direction_id: c.directionId, direction: DIRECTION[c.directionId] ?? 'Other' }
        : {}),
      ...(c.protocolVerId ? { protocol_ver_id: c.protocolVerId } : {}),
    };
  }
  if (e.traffic) {
    out.traffic = {
      bytes_in: Number(e.traffic.bytesIn),
      bytes_out: Number(e.traffic.bytesOut),
      ...(e.traffic.packets ? { packets: Number(e.traffic.packets) } : {}),
    };
  }
  if (e.query) {
    out.query = {
      hostname: e.query.hostname,
      ...(e.query.type ? { type: e.query.type } : {}),
      ...(e.query.class ? { class: e.query.class } : {}),
      ...(e.query.packetUid ? { packet_uid: e.query.packetUid } : {}),
    };
  }
  if (e.classUid === OcsfClass.Authentication) {
    out.user = user(e.user) ?? { name: '' };
    if (e.authProtocol) out.auth_protocol = e.authProtocol;
    if (e.logonTypeId) out.logon_type_id = e.logonTypeId;
    if (e.serviceName) out.service = { name: e.serviceName };
    out.is_remote = e.isRemote;
    if (e.command) unmapped.command = e.command;
    if (e.authProvenance) unmapped.provenance = AUTH_PROVENANCE_NAMES[e.authProvenance] ?? 'unknown';
  }
  if (e.process?.containerId) (out.metadata as { profiles: string[] }).profiles.push('container');
  if (Object.keys(unmapped).length) out.unmapped = unmapped;
  return out;
}

const DIRECTION: Record<number, string> = {
  0: 'Unknown',
  1: 'Inbound',
  2: 'Outbound',
  3: 'Lateral',
  99: 'Other',
};

/**
 * remediation fills the attributes of a Remediation Activity event (7002 file, 7003 process,
 * 7004 network): the command it answers, the D3FEND countermeasure (tactic = the activity), the
 * object acted on, and a failure's code.
 */
function remediation(e: Event, out: OcsfEvent, unmapped: Record<string, unknown>): void {
  const r = e.remediation;
  out.command_uid = r?.commandUid ?? '';
  if (r?.statusCode) out.status_code = r.statusCode;
  const tactic = REMEDIATION_ACTIVITIES[e.activityId];
  if (tactic || r?.technique) {
    out.countermeasures = [
      {
        ...(tactic ? { d3f_tactic: { name: tactic } } : {}),
        ...(r?.technique
          ? { d3f_technique: { name: r.technique, ...(r.techniqueUid ? { uid: r.techniqueUid } : {}) } }
          : {}),
      },
    ];
  }
  if (e.process) out.process = processObj(e.process);
  unmappedProcess(e.process, 'process', unmapped);
  if (e.file) {
    const f = fileObj(e.file);
    if (r?.fileSha256) f.hashes = [{ algorithm_id: 3, algorithm: 'SHA-256', value: r.fileSha256 }];
    out.file = f;
  }
  if (e.connectionInfo) {
    const c = e.connectionInfo;
    out.connection_info = {
      direction_id: c.directionId,
      direction: DIRECTION[c.directionId] ?? 'Other',
      ...(c.protocolName ? { protocol_name: c.protocolName } : {}),
      ...(c.protocolNum ? { protocol_num: c.protocolNum } : {}),
    };
  }
  if (r?.quarantineId) unmapped.quarantine_id = r.quarantineId;
  if (r?.reason) unmapped.reason = r.reason;
}

function fileObj(f: NonNullable<Event['file']>): Record<string, unknown> {
  return {
    path: f.path,
    name: f.name || basename(f.path),
    type_id: f.typeId || 1,
    ...(f.size ? { size: Number(f.size) } : {}),
  };
}

function endpoint(ep: NonNullable<Event['srcEndpoint']>): Record<string, unknown> {
  return { ip: ep.ip, port: ep.port, ...(ep.hostname ? { hostname: ep.hostname } : {}) };
}
