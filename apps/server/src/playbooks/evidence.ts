/** EvidenceProcess is the process an alert's evidence names, as a kill needs it. */
export interface EvidenceProcess {
  pid: number;
  startTimeMs?: number;
  uid?: string;
  name: string;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function evidences(finding: Obj): Obj[] {
  const ev = finding.evidences;
  return Array.isArray(ev) ? ev.map(obj).filter((e): e is Obj => e !== undefined) : [];
}

function toProcess(p: Obj | undefined): EvidenceProcess | undefined {
  if (!p) return undefined;
  const pid = p.pid;
  if (!Number.isInteger(pid) || (pid as number) < 1) return undefined;
  const created = p.created_time;
  const uid = typeof p.uid === 'string' && /^[0-9a-f]{32}$/.test(p.uid) ? p.uid : undefined;
  const startTimeMs =
    Number.isSafeInteger(created) && (created as number) > 0 ? (created as number) : undefined;
  if (uid === undefined && startTimeMs === undefined) return undefined;
  return {
    pid: pid as number,
    ...(startTimeMs !== undefined ? { startTimeMs } : {}),
    ...(uid !== undefined ? { uid } : {}),
    name: typeof p.name === 'string' ? p.name : '',
  };
}

/**
 * evidenceProcess is the process to kill for an alert: the first evidence's `process` that has a
 * pid and a start time (`created_time`, ms) or a unique id (`uid`), so that a reused pid is never
 * killed. Undefined when the evidence names none.
 */
export function evidenceProcess(finding: Obj): EvidenceProcess | undefined {
  for (const e of evidences(finding)) {
    const p = toProcess(obj(e.process));
    if (p) return p;
  }
  return undefined;
}

/**
 * evidenceFile is the file to quarantine for an alert: the first evidence's `file.path`, or else
 * the executable of the evidence's process (`process.file.path`). Undefined when there is none.
 */
export function evidenceFile(finding: Obj): string | undefined {
  const ev = evidences(finding);
  for (const e of ev) {
    const path = obj(e.file)?.path;
    if (typeof path === 'string' && path !== '') return path;
  }
  for (const e of ev) {
    const path = obj(obj(e.process)?.file)?.path;
    if (typeof path === 'string' && path !== '') return path;
  }
  return undefined;
}
