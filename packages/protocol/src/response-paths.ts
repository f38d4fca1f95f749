import { posix } from 'node:path';

/** Never the target of a file action: pseudo-filesystems, where "files" are kernel interfaces. */
const PSEUDO = ['/proc', '/sys', '/dev'];
/** ... except /dev/shm, where programs (and malware) keep real files. */
const PSEUDO_EXCEPT = ['/dev/shm'];

/** isUnder tells whether `path` is `dir` or inside it. */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * checkResponsePath says what is wrong with a path a response command names, or undefined when it
 * is acceptable: absolute and in normalized form (no ".", "..", "//" or trailing "/"), at most 4096
 * bytes, no NUL, not the root, not in /proc, /sys or /dev (except /dev/shm). The server checks it
 * before it stores a command, the agent again before it acts.
 */
export function checkResponsePath(p: unknown): string | undefined {
  if (typeof p !== 'string' || p === '') return 'path must be a non-empty string';
  if (Buffer.byteLength(p) > 4096) return 'path is longer than 4096 bytes';
  if (p.includes('\0')) return 'path contains a NUL byte';
  if (!p.startsWith('/')) return `path ${JSON.stringify(p)} is not absolute`;
  if (posix.normalize(p) !== p || p.endsWith('/'))
    return `path ${JSON.stringify(p)} is not in normalized form (no ".", "..", "//" or trailing "/")`;
  if (p === '/') return 'path / is a directory';
  if (PSEUDO_EXCEPT.some((d) => isUnder(p, d) && p !== d)) return undefined;
  const pseudo = PSEUDO.find((d) => isUnder(p, d));
  if (pseudo) return `path ${p} is in ${pseudo}, a pseudo-filesystem`;
  return undefined;
}
