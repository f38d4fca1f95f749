import {
  type Event,
  EventSchema,
  OcsfClass,
  type Process,
  type QuarantinedFile,
  create,
} from '@palisade/protocol';

/** Activity ids of the OCSF Remediation classes (D3FEND tactics). */
export const RemediationActivity = { Isolate: 1, Evict: 2, Restore: 3 } as const;

/** OCSF status ids of remediation outcomes. */
export const RemediationStatus = {
  Success: 1,
  Failure: 2,
  DoesNotExist: 3,
  Unsupported: 5,
  Error: 6,
} as const;

/** Outcome is how a response action ended, as its remediation event reports it. */
export interface Outcome {
  commandId: string;
  ok: boolean;
  /** Machine-readable failure code ("" on success). */
  code: string;
  /** For people: what was done, or why not. */
  message: string;
  reason?: string;
}

function statusOf(o: Outcome): number {
  if (o.ok) return RemediationStatus.Success;
  if (o.code === 'not_found') return RemediationStatus.DoesNotExist;
  if (o.code === 'unsupported') return RemediationStatus.Unsupported;
  if (o.code === 'error') return RemediationStatus.Error;
  return RemediationStatus.Failure;
}

function base(
  classUid: number,
  activityId: number,
  o: Outcome,
  technique: string,
  techniqueUid: string,
): Event {
  return create(EventSchema, {
    classUid,
    activityId,
    timeMs: BigInt(Date.now()),
    severityId: 1,
    statusId: statusOf(o),
    ...(o.ok ? {} : { statusDetail: o.message }),
    message: o.message,
    remediation: {
      commandUid: o.commandId,
      technique,
      techniqueUid,
      statusCode: o.code,
      reason: o.reason ?? '',
    },
  });
}

/** isolationEvent is a Network Remediation (7004) event: the host isolated (Isolate) or restored (Restore). */
export function isolationEvent(isolate: boolean, o: Outcome): Event {
  const e = isolate
    ? base(OcsfClass.NetworkRemediation, RemediationActivity.Isolate, o, 'Network Isolation', 'D3-NI')
    : base(OcsfClass.NetworkRemediation, RemediationActivity.Restore, o, 'Restore Network Access', '');
  // The connection it concerns is every connection of the host, both ways.
  e.connectionInfo = {
    $typeName: 'palisade.v1.ConnectionInfo',
    protocolNum: 0,
    protocolName: '',
    directionId: 99,
    protocolVerId: 0,
  };
  return e;
}

/** processEvent is a Process Remediation (7003) event: a process killed (Evict). */
export function processEvent(p: Process, o: Outcome): Event {
  const e = base(OcsfClass.ProcessRemediation, RemediationActivity.Evict, o, 'Process Termination', 'D3-PT');
  e.process = p;
  return e;
}

/** fileEvent is a File Remediation (7002) event: a file quarantined (Evict) or restored (Restore). */
export function fileEvent(restore: boolean, path: string, q: QuarantinedFile | undefined, o: Outcome): Event {
  const e = restore
    ? base(OcsfClass.FileRemediation, RemediationActivity.Restore, o, 'Restore File', '')
    : base(OcsfClass.FileRemediation, RemediationActivity.Evict, o, 'File Eviction', 'D3-FEV');
  e.file = {
    $typeName: 'palisade.v1.File',
    path,
    name: path.slice(path.lastIndexOf('/') + 1),
    typeId: 1,
    size: q?.size ?? 0n,
  };
  if (e.remediation && q) {
    e.remediation.fileSha256 = q.sha256;
    e.remediation.quarantineId = q.quarantineId;
  }
  return e;
}
