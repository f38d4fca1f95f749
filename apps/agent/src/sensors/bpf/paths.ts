/**
 * componentsToPath turns the path components the kernel walked (leaf to root, each
 * NUL-terminated, in b[start, end)) into an absolute path. No component means "/".
 */
export function componentsToPath(b: Buffer, start: number, end: number): string {
  if (end <= start) return '/';
  const parts = b.toString('utf8', start, end).split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  parts.reverse();
  return `/${parts.join('/')}`;
}

/** DEFAULT_IGNORE_PATH_PREFIXES are pseudo file systems whose "files" are not file modifications. */
export const DEFAULT_IGNORE_PATH_PREFIXES: readonly string[] = ['/proc', '/sys', '/dev'];

/**
 * WATCHED_UNDER_IGNORED are trees below an ignored prefix that are watched all the same: shared
 * memory and POSIX message queues are file systems where attackers stage payloads.
 */
export const WATCHED_UNDER_IGNORED: readonly string[] = ['/dev/shm', '/dev/mqueue'];

/**
 * PathFilter decides whether a file path is under one of the ignored prefixes. A prefix matches
 * itself and everything below it ("/proc" matches "/proc/1/x", not "/procfoo").
 */
export class PathFilter {
  private readonly prefixes: string[];

  constructor(prefixes: readonly string[]) {
    this.prefixes = prefixes
      .filter((p) => p.startsWith('/'))
      .map((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p));
  }

  /** ignored says whether `path` is under an ignored prefix (and not under a watched tree). */
  ignored(path: string): boolean {
    // A watched tree wins over a shorter ignored prefix, not over one that names it or lies below.
    for (const p of this.prefixes) {
      if (!(p === '/' || under(path, p))) continue;
      if (!WATCHED_UNDER_IGNORED.some((w) => w.length > p.length && under(path, w))) return true;
    }
    return false;
  }
}

function under(path: string, p: string): boolean {
  return path === p || (path.startsWith(p) && path.charCodeAt(p.length) === 47);
}
