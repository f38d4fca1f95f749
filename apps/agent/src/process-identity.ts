import { createHash } from 'node:crypto';

/** MS_PER_TICK converts /proc start times (clock ticks, USER_HZ = 100) to milliseconds. */
export const MS_PER_TICK = 10;

/**
 * processUniqueId is the id a process keeps for its whole life and no other process ever gets:
 * a hash of the boot id, the pid and the start time in clock ticks (field 22 of /proc/<pid>/stat).
 * Process events carry it as process.uid; kill-process matches it exactly.
 */
export function processUniqueId(bootId: string, pid: number, startTicks: number): string {
  return createHash('sha256').update(`${bootId}:${pid}:${startTicks}`).digest('hex').slice(0, 32);
}
