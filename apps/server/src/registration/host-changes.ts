import type { HostFactsRecord } from '@palisade/storage';

/**
 * WATCHED_HOST_FACTS are the host facts whose change at check-in is written to the audit log: the
 * machine id and host name say which machine a credential is on (a change can mean a copied
 * identity), OS, kernel, architecture and agent version are recorded for information.
 */
export const WATCHED_HOST_FACTS = [
  'machineId',
  'hostname',
  'os',
  'osVersion',
  'kernel',
  'arch',
  'agentVersion',
] as const satisfies readonly (keyof HostFactsRecord)[];

const API_NAME: Record<(typeof WATCHED_HOST_FACTS)[number], string> = {
  machineId: 'machine_id',
  hostname: 'hostname',
  os: 'os',
  osVersion: 'os_version',
  kernel: 'kernel',
  arch: 'arch',
  agentVersion: 'agent_version',
};

/** HostChange is what changed, in API field names: the fields, and their values before and after. */
export interface HostChange {
  changed: string[];
  before: Record<string, string>;
  after: Record<string, string>;
}

/** hostChange compares stored and reported host facts; undefined when no watched fact changed. */
export function hostChange(before: HostFactsRecord, after: HostFactsRecord): HostChange | undefined {
  const c: HostChange = { changed: [], before: {}, after: {} };
  for (const k of WATCHED_HOST_FACTS) {
    if (before[k] === after[k]) continue;
    const name = API_NAME[k];
    c.changed.push(name);
    c.before[name] = before[k];
    c.after[name] = after[k];
  }
  return c.changed.length ? c : undefined;
}
