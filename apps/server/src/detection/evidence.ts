import type { DetectionMatch, Match } from '@palisade/detection';
import type { Event, Process } from '@palisade/protocol';
import type { AlertEvidence, AlertSeverity, EvidenceProcess } from '@palisade/storage';

/** Where an evaluated event is stored: its batch and index (the main thread turns them into event ids). */
export interface EventPosition {
  batchId: number;
  index: number;
  agentId: string;
  hostname: string;
}

/** PositionedEvidence is evidence plus the stored position of its event. */
export type PositionedEvidence = AlertEvidence & { batchId: number; index: number };

/**
 * Hit is one rule match as the detection thread reports it: plain data, posted to the main
 * thread, which folds hits of a group key into one alert candidate.
 */
export interface Hit {
  ruleId: string;
  ruleTitle: string;
  ruleKind: 'detection' | 'correlation';
  ruleDescription: string | null;
  severity: AlertSeverity;
  tags: string[];
  groupKey: string;
  agentId: string;
  hostname: string;
  firstSeenMs: number;
  lastSeenMs: number;
  evidence: PositionedEvidence[];
  droppedEvidence: number;
}

function proc(p: Process | undefined): EvidenceProcess | null {
  if (!p || (p.pid === 0 && !p.path)) return null;
  return {
    pid: p.pid,
    startTimeMs: p.createdTimeMs ? Number(p.createdTimeMs) : null,
    uid: p.user?.uid ? p.user.uid : null,
    userName: p.user?.name ? p.user.name : null,
    path: p.path,
    cmdLine: p.cmdLine,
    name: p.name,
    processUid: p.uid ? p.uid : null,
  };
}

/** evidenceOf summarises a wire event as evidence. */
export function evidenceOf(
  e: Event,
  pos: EventPosition,
  ruleId: string,
  logsource: string,
): PositionedEvidence {
  const parent = e.actorProcess ?? e.process?.parent;
  const net = e.srcEndpoint || e.dstEndpoint;
  return {
    eventId: null,
    batchId: pos.batchId,
    index: pos.index,
    agentId: pos.agentId,
    timeMs: Number(e.timeMs),
    classUid: e.classUid,
    activityId: e.activityId,
    logsource,
    ruleId,
    process: proc(e.process),
    parentProcess: proc(parent),
    file: e.file?.path ? { path: e.file.path, newPath: e.fileResult?.path ? e.fileResult.path : null } : null,
    network: net
      ? {
          srcIp: e.srcEndpoint?.ip ?? '',
          srcPort: e.srcEndpoint?.port ?? 0,
          dstIp: e.dstEndpoint?.ip ?? '',
          dstPort: e.dstEndpoint?.port ?? 0,
          dstHostname: e.dstEndpoint?.hostname ?? '',
        }
      : null,
    rawData: e.rawData ? e.rawData : null,
  };
}

/** positionOf reads the position the detection thread attached to an event's context. */
export type PositionLookup = (m: DetectionMatch) => EventPosition | undefined;

function detectionEvidence(m: DetectionMatch, where: PositionLookup): PositionedEvidence[] {
  const pos = where(m);
  if (!pos || m.event.kind !== 'wire') return [];
  return [evidenceOf(m.event.event, pos, m.rule.id, m.logsource)];
}

function flatten(m: Match, where: PositionLookup, out: PositionedEvidence[]): void {
  if (m.kind === 'detection') out.push(...detectionEvidence(m, where));
  else for (const c of m.contributors) flatten(c, where, out);
}

/** hitOf turns an engine match into a Hit (the evidence: the event, or every contributing event). */
export function hitOf(m: Match, where: PositionLookup): Hit | undefined {
  const evidence: PositionedEvidence[] = [];
  flatten(m, where, evidence);
  const last = evidence.at(-1);
  if (!last) return undefined;
  const pos = where(firstDetection(m)!) ?? { agentId: last.agentId, hostname: '' };
  const group =
    m.kind === 'correlation'
      ? `|${Object.entries(m.group)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`)
          .join(',')}`
      : '';
  return {
    ruleId: m.rule.id,
    ruleTitle: m.rule.title,
    ruleKind: m.kind,
    ruleDescription: m.rule.description ?? null,
    severity: m.rule.level,
    tags: m.rule.tags,
    groupKey: `${last.agentId}|${m.rule.id}${group}`,
    agentId: last.agentId,
    hostname: pos.hostname,
    firstSeenMs: m.kind === 'correlation' ? m.firstMs : m.timeMs,
    lastSeenMs: m.kind === 'correlation' ? m.lastMs : m.timeMs,
    evidence,
    droppedEvidence: m.kind === 'correlation' ? m.droppedEvidence : 0,
  };
}

function firstDetection(m: Match): DetectionMatch | undefined {
  if (m.kind === 'detection') return m;
  for (const c of m.contributors) {
    const d = firstDetection(c);
    if (d) return d;
  }
  return undefined;
}

/** attack splits Sigma tags into ATT&CK tactics (attack.execution) and techniques (attack.t1059.004). */
export function attack(tags: readonly string[]): { tactics: string[]; techniques: string[] } {
  const tactics: string[] = [];
  const techniques: string[] = [];
  for (const t of tags) {
    const m = /^attack\.(.+)$/i.exec(t);
    if (!m) continue;
    const v = m[1]!;
    if (/^t\d{4}(\.\d{3})?$/i.test(v)) techniques.push(v.toUpperCase());
    else if (!/^[gs]\d{4}$/i.test(v)) tactics.push(v.toLowerCase().replaceAll('_', '-'));
  }
  return { tactics, techniques };
}
