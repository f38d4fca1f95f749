import type { Event, Process, User } from '@palisade/protocol';
import type { FieldValue } from '../compile/field-reader.js';
import type { EvalContext } from './context.js';

/** Getter reads one Sigma field from a wire event (`rec` selects the record of a multi-record view). */
export type Getter = (e: Event, c: EvalContext, rec: number) => FieldValue;

/** s turns the wire's empty string (proto3's "unset") into a missing field. */
export const s = (v: string | undefined): string | undefined => (v ? v : undefined);

export function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

/** userName is a user's name, or its uid when the name is unknown. */
export function userName(u: User | undefined): string | undefined {
  if (!u) return undefined;
  return u.name || u.uid || undefined;
}

/** utcTime renders an event time as Sysmon writes UtcTime: `YYYY-MM-DD HH:MM:SS.mmm`. */
export function utcTime(ms: bigint): string {
  return new Date(Number(ms)).toISOString().replace('T', ' ').replace('Z', '');
}

/** The fields of a process, under a prefix ('' for the acting process, 'Source'/'Target' for access). */
export interface ProcessFieldNames {
  image: string;
  commandLine: string;
  processId: string;
  processGuid: string;
  user: string;
  currentDirectory?: string;
  parentImage?: string;
  parentCommandLine?: string;
  parentProcessId?: string;
  parentProcessGuid?: string;
}

/** processFields returns the usual field getters of one process of the event. */
export function processFields(
  pick: (e: Event) => Process | undefined,
  n: ProcessFieldNames,
): [string, Getter, string][] {
  const out: [string, Getter, string][] = [
    [n.image, (e) => s(pick(e)?.path), 'executable path'],
    [n.commandLine, (e) => s(pick(e)?.cmdLine), 'command line (argv joined by spaces)'],
    [n.processId, (e) => pick(e)?.pid || undefined, 'pid'],
    [n.processGuid, (e) => s(pick(e)?.uid), 'Palisade process uid (survives pid reuse)'],
    [n.user, (e) => userName(pick(e)?.user), 'user name (uid when unknown)'],
  ];
  if (n.currentDirectory) out.push([n.currentDirectory, (e) => s(pick(e)?.cwd), 'working directory']);
  if (n.parentImage) out.push([n.parentImage, (e) => s(pick(e)?.parent?.path), "parent's executable"]);
  if (n.parentCommandLine)
    out.push([n.parentCommandLine, (e) => s(pick(e)?.parent?.cmdLine), "parent's command line"]);
  if (n.parentProcessId) {
    out.push([n.parentProcessId, (e) => pick(e)?.ppid || pick(e)?.parent?.pid || undefined, 'parent pid']);
  }
  if (n.parentProcessGuid)
    out.push([n.parentProcessGuid, (e) => s(pick(e)?.parent?.uid), "parent's process uid"]);
  return out;
}

export const ACTING: ProcessFieldNames = {
  image: 'Image',
  commandLine: 'CommandLine',
  processId: 'ProcessId',
  processGuid: 'ProcessGuid',
  user: 'User',
  currentDirectory: 'CurrentDirectory',
  parentImage: 'ParentImage',
  parentCommandLine: 'ParentCommandLine',
  parentProcessId: 'ParentProcessId',
  parentProcessGuid: 'ParentProcessGuid',
};

export const proc = (e: Event): Process | undefined => e.process;
export const actorProc = (e: Event): Process | undefined => e.actorProcess ?? e.process?.parent;

/** Fields every Palisade event has: its time and its host. */
export const COMMON: [string, Getter, string][] = [
  ['UtcTime', (e) => utcTime(e.timeMs), 'event time, UTC (`YYYY-MM-DD HH:MM:SS.mmm`)'],
  ['Computer', (_e, c) => c.hostname, 'host name of the agent'],
  ['AgentId', (_e, c) => c.agentId, 'Palisade agent id'],
];
