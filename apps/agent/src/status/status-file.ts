import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@palisade/common';

/** STATUS_FILE is where the running agent describes itself, in its root-only (0700) state directory. */
export const STATUS_FILE = 'status.json';

/** AgentStatus is the content of the status file (`palisade agent status` reads it). */
export interface AgentStatus {
  version: 1;
  state: 'running' | 'stopped';
  /** When the agent last wrote the file (ms since the epoch). */
  updatedAt: number;
  /** How often it writes it, ms (a file older than a few of these is stale). */
  intervalMs: number;
  pid: number;
  agentId: string;
  startedAt: number;
  connection: string;
  tier: string;
  policyRevision: string;
  cpu: { userSeconds: number; systemSeconds: number; percent: number };
  rssBytes: number;
  spool: {
    pendingEvents: number;
    unackedEvents: number;
    unackedBatches: number;
    bytes: number;
    oldestUnsentMs: number;
    droppedEvents: number;
    droppedBatches: number;
    corruptRecords: number;
  };
  sensors: { name: string; eventsEmitted: number; drops: number; restarts: number }[];
}

/** StatusSource is what the status file is made of, asked at each write. */
export type StatusSource = () => Omit<
  AgentStatus,
  'version' | 'updatedAt' | 'intervalMs' | 'pid' | 'cpu' | 'rssBytes' | 'state'
>;

/**
 * startStatusFile writes `<stateDir>/status.json` (mode 0600, replaced by rename, so a reader
 * never sees half a file) now and every `intervalMs`, with the process's CPU use over the last
 * interval and its RSS. stop() writes it a last time with state "stopped". It is not synced to
 * disk: it describes the running process, and after a crash it is stale, which is what it says.
 */
export function startStatusFile(
  stateDir: string,
  source: StatusSource,
  log: Logger,
  intervalMs = 5000,
): { stop(): void } {
  const path = join(stateDir, STATUS_FILE);
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  let failures = 0;
  const write = (state: AgentStatus['state']) => {
    const cpu = process.cpuUsage();
    const now = performance.now();
    const usedUs = cpu.user - lastCpu.user + (cpu.system - lastCpu.system);
    const percent = now > lastAt ? Math.round((usedUs / 1000 / (now - lastAt)) * 1000) / 10 : 0;
    lastCpu = cpu;
    lastAt = now;
    const status: AgentStatus = {
      version: 1,
      state,
      updatedAt: Date.now(),
      intervalMs,
      pid: process.pid,
      cpu: { userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6, percent },
      rssBytes: process.memoryUsage.rss(),
      ...source(),
    };
    try {
      writeFileSync(`${path}.tmp`, `${JSON.stringify(status)}\n`, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
      failures = 0;
    } catch (err) {
      if (failures++ === 0)
        log.warn({ path, err: (err as Error).message }, 'could not write the status file');
    }
  };
  write('running');
  const timer = setInterval(() => write('running'), intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      write('stopped');
    },
  };
}

/** readStatus reads the status file of `stateDir` (a clear error when it is missing or not one). */
export function readStatus(stateDir: string): AgentStatus {
  const path = join(stateDir, STATUS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new Error(`${path} does not exist: the agent has not run with this state directory`);
    if (code === 'EACCES') throw new Error(`${path} is readable by root only: run as root`);
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  const s = JSON.parse(text) as AgentStatus;
  if (s?.version !== 1 || typeof s.updatedAt !== 'number')
    throw new Error(`${path} is not an agent status file`);
  return s;
}
