import { readFileSync } from 'node:fs';
import type { Logger } from '@palisade/common';
import type { ListenerLimits } from './listener-limits.js';

/** openFilesLimit reads this process's soft limit of open files (Linux: /proc/self/limits), or undefined. */
export function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * warnAboutFdLimit logs a warning when the connection caps of this process's listeners add up to
 * more than its open-files limit: the caps would then not be what runs out first, and a flood
 * would end in EMFILE (accept failing for every listener) instead of in the caps' eviction.
 */
export function warnAboutFdLimit(l: ListenerLimits, withStandby: boolean, logger: Logger): void {
  const limit = openFilesLimit();
  // An agent holds one telemetry connection, to the primary or the standby: together they hold
  // about maxConnections authenticated ones, plus the standby's unauthenticated pool.
  const caps = l.registrationMaxConnections + l.maxConnections + (withStandby ? l.maxUnauthenticated : 0);
  // Room for the database, logs, the CA files and Node itself.
  const need = caps + 256;
  if (limit !== undefined && need > limit) {
    logger.warn(
      { openFilesLimit: limit, connectionCaps: caps },
      `the listeners' connection caps (${caps}) exceed what the open-files limit (${limit}) leaves room for; raise the limit (ulimit -n, LimitNOFILE=) or lower max-connections`,
    );
  }
}
