import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

/** TrustedBinary is a helper program that may be run: the path to run it by. */
export interface TrustedBinary {
  ok: true;
  /** The resolved path (no symlinks): what was checked is what is run. */
  path: string;
}

/** UntrustedBinary is a helper program that must not be run, and why. */
export interface UntrustedBinary {
  ok: false;
  reason: string;
}

function mode(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * checkHelperBinary decides whether the agent may run `path` as one of its helpers (the eBPF
 * sensor, the journal reader). The agent runs as root and hands the helper its privileges, so
 * whoever can change the file, or rename something in a directory above it, would run code as
 * root. The resolved file must be a regular file owned by root (or by the agent's own user, when
 * the agent does not run as root) and not writable by group or others; every directory above it
 * must be owned by root (or that user) and not writable by others or a group other than root's,
 * unless it is sticky (like /tmp: others cannot rename or remove what root owns in it).
 */
export function checkHelperBinary(
  path: string,
  trustedUids: readonly number[] = [0, process.geteuid?.() ?? 0],
): TrustedBinary | UntrustedBinary {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    return { ok: false, reason: `${path} cannot be resolved: ${(err as NodeJS.ErrnoException).code ?? err}` };
  }
  const shown = real === path ? path : `${path} (${real})`;
  let st: Stats;
  try {
    st = lstatSync(real);
  } catch (err) {
    return {
      ok: false,
      reason: `${shown} cannot be examined: ${(err as NodeJS.ErrnoException).code ?? err}`,
    };
  }
  if (!st.isFile()) return { ok: false, reason: `${shown} is not a regular file` };
  if (!trustedUids.includes(st.uid))
    return {
      ok: false,
      reason: `${shown} is owned by uid ${st.uid}, not root: refusing to run it (chown root ${real})`,
    };
  if (st.mode & 0o022)
    return {
      ok: false,
      reason: `${shown} is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${mode(st)}): refusing to run it (chmod go-w ${real})`,
    };
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    let d: Stats;
    try {
      d = lstatSync(dir);
    } catch (err) {
      return {
        ok: false,
        reason: `${dir} cannot be examined: ${(err as NodeJS.ErrnoException).code ?? err}`,
      };
    }
    const sticky = (d.mode & 0o1000) !== 0;
    if (!trustedUids.includes(d.uid))
      return {
        ok: false,
        reason: `${dir}, a directory above ${shown}, is owned by uid ${d.uid}, not root: refusing to run it`,
      };
    if (!sticky && (d.mode & 0o002 || (d.mode & 0o020 && d.gid !== 0)))
      return {
        ok: false,
        reason: `${dir}, a directory above ${shown}, is writable by ${d.mode & 0o002 ? 'others' : `group ${d.gid}`} (mode ${mode(d)}): refusing to run it`,
      };
    if (dir === '/') break;
  }
  return { ok: true, path: real };
}
