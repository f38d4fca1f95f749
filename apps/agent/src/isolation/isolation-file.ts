import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** IsolationStateName is the actual state of the host (see IsolationState in response.proto). */
export type IsolationStateName =
  | 'not_isolated'
  | 'applying'
  | 'isolated'
  | 'failed'
  | 'reverted'
  | 'unsupported';

const STATES: readonly IsolationStateName[] = [
  'not_isolated',
  'applying',
  'isolated',
  'failed',
  'reverted',
  'unsupported',
];

/** SavedIsolation is what the agent keeps on disk so that a restart or crash cannot open an isolated host. */
export interface SavedIsolation {
  version: 1;
  /** The newest desired state the server sent. */
  desired: { isolated: boolean; revision: number; commandId: string; reason: string };
  /** What the host was, last time the agent knew. */
  actual: { state: IsolationStateName; revision: number; reason: string; sinceMs: number };
  /** Isolation revisions up to this one are never applied again (reverted, or lifted locally). */
  blockedRevision: number;
  /** Backend addresses as last resolved, per "host port", used when resolving fails. */
  resolved: Record<string, string[]>;
  /** The last local lift with the offline restore code. */
  localRestore: { revision: number; atMs: number; codeId: string } | null;
}

/** IsolationFileError says the saved isolation state is unreadable or was tampered with. */
export class IsolationFileError extends Error {
  override name = 'IsolationFileError';
}

/** FILE is the isolation state's name in the agent's state directory. */
export const ISOLATION_FILE = 'isolation.json';

/** emptyIsolation is the state of an agent that was never told to isolate. */
export function emptyIsolation(nowMs: number): SavedIsolation {
  return {
    version: 1,
    desired: { isolated: false, revision: 0, commandId: '', reason: '' },
    actual: { state: 'not_isolated', revision: 0, reason: '', sinceMs: nowMs },
    blockedRevision: 0,
    resolved: {},
    localRestore: null,
  };
}

function fail(path: string, why: string): never {
  throw new IsolationFileError(`${path}: ${why}`);
}

function nonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** parseSavedIsolation checks every field of the saved state; anything unexpected names the field. */
export function parseSavedIsolation(text: string, path: string): SavedIsolation {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    return fail(path, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) fail(path, 'not a JSON object');
  if (j.version !== 1) fail(path, `version must be 1, got ${JSON.stringify(j.version)}`);
  const d = j.desired as Record<string, unknown> | undefined;
  if (
    !d ||
    typeof d.isolated !== 'boolean' ||
    !nonNegInt(d.revision) ||
    typeof d.commandId !== 'string' ||
    typeof d.reason !== 'string'
  )
    fail(
      path,
      'field desired must be {isolated: boolean, revision: integer >= 0, commandId: string, reason: string}',
    );
  const a = j.actual as Record<string, unknown> | undefined;
  if (
    !a ||
    !STATES.includes(a.state as IsolationStateName) ||
    !nonNegInt(a.revision) ||
    typeof a.reason !== 'string' ||
    !nonNegInt(a.sinceMs)
  )
    fail(path, `field actual must be {state: one of ${STATES.join('|')}, revision, reason, sinceMs}`);
  if (!nonNegInt(j.blockedRevision)) fail(path, 'field blockedRevision must be an integer >= 0');
  const r = j.resolved as Record<string, unknown> | undefined;
  if (!r || typeof r !== 'object' || Array.isArray(r)) fail(path, 'field resolved must be an object');
  for (const [k, v] of Object.entries(r)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      fail(path, `field resolved.${k} must be a list of addresses`);
  }
  const lr = j.localRestore as Record<string, unknown> | null | undefined;
  if (
    lr !== null &&
    (typeof lr !== 'object' ||
      !nonNegInt(lr?.revision) ||
      !nonNegInt(lr?.atMs) ||
      typeof lr?.codeId !== 'string')
  )
    fail(path, 'field localRestore must be null or {revision, atMs, codeId}');
  return j as unknown as SavedIsolation;
}

/** loadIsolation reads the saved state; a missing file is an agent never told to isolate. */
export function loadIsolation(stateDir: string, nowMs: number): SavedIsolation {
  const path = join(stateDir, ISOLATION_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyIsolation(nowMs);
    return fail(path, `cannot read (${(err as Error).message})`);
  }
  return parseSavedIsolation(text, path);
}

/** saveIsolation writes the state durably (write, fsync, rename, fsync the directory), mode 0600. */
export function saveIsolation(stateDir: string, s: SavedIsolation): void {
  const path = join(stateDir, ISOLATION_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  const fd = openSync(tmp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(stateDir, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
