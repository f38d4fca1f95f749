import type { AlertEvidence, AlertRecord, EvidenceProcess } from '@palisade/storage';

const SEVERITY_ID: Record<AlertRecord['severity'], number> = {
  informational: 1,
  low: 2,
  medium: 3,
  high: 4,
  critical: 5,
};
const STATUS_ID: Record<AlertRecord['status'], number> = {
  new: 1,
  in_progress: 2,
  suppressed: 3,
  resolved: 4,
};
const STATUS_NAME: Record<AlertRecord['status'], string> = {
  new: 'New',
  in_progress: 'In Progress',
  suppressed: 'Suppressed',
  resolved: 'Resolved',
};

function process(p: EvidenceProcess | null): Record<string, unknown> | undefined {
  if (!p) return undefined;
  return {
    pid: p.pid,
    name: p.name,
    cmd_line: p.cmdLine,
    file: { path: p.path, name: p.path.slice(p.path.lastIndexOf('/') + 1), type_id: 1 },
    ...(p.startTimeMs !== null ? { created_time: p.startTimeMs } : {}),
    ...(p.processUid ? { uid: p.processUid } : {}),
    ...(p.uid !== null || p.userName
      ? { user: { ...(p.uid !== null ? { uid: p.uid } : {}), ...(p.userName ? { name: p.userName } : {}) } }
      : {}),
  };
}

/** file is an evidence's file where it is now (for a rename: its new name, the old one in `data`). */
function file(path: string): Record<string, unknown> {
  return { path, name: path.slice(path.lastIndexOf('/') + 1), type_id: 1 };
}

function evidence(e: AlertEvidence): Record<string, unknown> {
  const proc = process(e.process);
  const parent = process(e.parentProcess);
  return {
    ...(proc ? { process: parent ? { ...proc, parent_process: parent } : proc } : {}),
    ...(e.file ? { file: file(e.file.newPath ?? e.file.path) } : {}),
    ...(e.network
      ? {
          src_endpoint: { ip: e.network.srcIp || undefined, port: e.network.srcPort || undefined },
          dst_endpoint: {
            ip: e.network.dstIp || undefined,
            port: e.network.dstPort || undefined,
            ...(e.network.dstHostname ? { hostname: e.network.dstHostname } : {}),
          },
        }
      : {}),
    data: {
      event_id: e.eventId,
      class_uid: e.classUid,
      activity_id: e.activityId,
      time: e.timeMs,
      logsource: e.logsource,
      rule_id: e.ruleId,
      ...(e.file?.newPath ? { renamed_from: e.file.path } : {}),
      ...(e.rawData ? { raw_data: e.rawData } : {}),
    },
  };
}

/** toDetectionFinding renders an alert as an OCSF Detection Finding (class 2004). */
export function toDetectionFinding(a: AlertRecord): Record<string, unknown> {
  const activity = a.count > 1 ? 2 : 1;
  return {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: activity,
    activity_name: activity === 1 ? 'Create' : 'Update',
    type_uid: 200400 + activity,
    severity_id: SEVERITY_ID[a.severity],
    severity:
      a.severity === 'informational' ? 'Informational' : a.severity[0]!.toUpperCase() + a.severity.slice(1),
    status_id: STATUS_ID[a.status],
    status: STATUS_NAME[a.status],
    time: a.lastSeenMs,
    count: a.count,
    metadata: {
      version: '1.3.0',
      product: { name: 'Palisade', vendor_name: 'Palisade' },
      uid: a.id,
      modified_time: a.updatedAt,
    },
    finding_info: {
      uid: a.id,
      title: a.ruleTitle,
      ...(a.ruleDescription ? { desc: a.ruleDescription } : {}),
      created_time: a.createdAt,
      modified_time: a.updatedAt,
      first_seen_time: a.firstSeenMs,
      last_seen_time: a.lastSeenMs,
      analytic: { uid: a.ruleId, name: a.ruleTitle, type_id: 1, type: 'Rule' },
      ...(a.tactics.length || a.techniques.length
        ? {
            attacks: [
              ...a.techniques.map((t) => ({ technique: { uid: t } })),
              ...a.tactics.map((t) => ({ tactic: { name: t } })),
            ],
          }
        : {}),
    },
    device: { uid: a.agentId, hostname: a.hostname || a.agentId, type_id: 0 },
    evidences: a.evidence.map(evidence),
    unmapped: {
      assignee: a.assignee,
      comment: a.comment,
      group_key: a.groupKey,
      dropped_evidence: a.droppedEvidence,
    },
  };
}
