import { createHash, randomUUID } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  open,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type QuarantinedFile,
  QuarantinedFileSchema,
  checkResponsePath,
  create,
  isUnder,
} from '@palisade/protocol';

/** QuarantineContext is where quarantined files go and what must never be quarantined. */
export interface QuarantineContext {
  /** The root-only quarantine directory (`<state dir>/quarantine`, mode 0700). */
  dir: string;
  /** The agent's own files and directories (state dir, program, node binary): refused. */
  protectedPaths: () => readonly string[];
  /** Files on another filesystem are copied; larger ones are refused. @default 1 GiB */
  maxCopyBytes?: number;
}

/** FileOutcome is how a quarantine or restore ended. */
export interface FileOutcome {
  ok: boolean;
  /** "" on success; else bad_request, not_found, protected, not_a_file, exists, too_large, corrupt, error. */
  code: string;
  message: string;
  file?: QuarantinedFile;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** checkPath is checkResponsePath (the rule the server applies too). */
export const checkPath = checkResponsePath;
const under = isUnder;

function kind(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

async function isProtected(p: string, ctx: QuarantineContext): Promise<string | undefined> {
  // Compare real locations: a symlinked directory must not lead into the agent's own files.
  let real = p;
  try {
    real = join(await realpath(dirname(p)), basename(p));
  } catch {
    // parent missing: lstat will say so
  }
  for (const q of ctx.protectedPaths()) {
    let rq = q;
    try {
      rq = await realpath(q);
    } catch {}
    if (under(p, q) || under(real, rq)) return q;
  }
  return undefined;
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** copyDurably copies src to a new dst (never overwriting), fsyncs it, and returns its sha256. */
async function copyDurably(src: string, dst: string, mode: number): Promise<void> {
  const from = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const to = await open(dst, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await from.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      await to.write(buf, 0, bytesRead);
    }
    await to.sync();
  } finally {
    await from.close();
    await to.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function toWire(m: SavedMeta): QuarantinedFile {
  return create(QuarantinedFileSchema, {
    quarantineId: m.id,
    originalPath: m.originalPath,
    sha256: m.sha256,
    size: BigInt(m.size),
    mode: m.mode,
    uid: m.uid,
    gid: m.gid,
    atimeMs: BigInt(Math.round(m.atimeMs)),
    mtimeMs: BigInt(Math.round(m.mtimeMs)),
    ctimeMs: BigInt(Math.round(m.ctimeMs)),
    quarantinedAtMs: BigInt(m.quarantinedAtMs),
  });
}

interface SavedMeta {
  version: 1;
  id: string;
  originalPath: string;
  sha256: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  quarantinedAtMs: number;
}

/**
 * quarantineFile moves a regular file into the quarantine directory: `<dir>/<id>/content`
 * (owner root, mode 0400) with `meta.json` beside it (original path, sha256, size, mode, owner,
 * times). On the same filesystem it is renamed (the file's inode moves, nothing is copied); on
 * another, or when it has other hard links, it is copied, synced and then unlinked. Refused:
 * paths not in absolute normalized form, directories, symbolic links, devices, FIFOs, sockets,
 * the agent's own files, /proc, /sys, /dev. Nothing is changed when it is refused or fails.
 */
export async function quarantineFile(path: string, ctx: QuarantineContext): Promise<FileOutcome> {
  const bad = checkPath(path);
  if (bad) return { ok: false, code: 'bad_request', message: bad };
  const prot = await isProtected(path, ctx);
  if (prot)
    return {
      ok: false,
      code: 'protected',
      message: `${path} is one of the agent's own files (${prot}); refused`,
    };
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? { ok: false, code: 'not_found', message: `no file ${path}` }
      : { ok: false, code: 'error', message: `cannot look at ${path}: ${(err as Error).message}` };
  }
  if (!st.isFile())
    return {
      ok: false,
      code: 'not_a_file',
      message: `${path} is ${kind(st)}; only regular files are quarantined`,
    };
  await mkdir(ctx.dir, { recursive: true, mode: 0o700 });
  await chmod(ctx.dir, 0o700);
  const qdir = await stat(ctx.dir);
  const sameFs = qdir.dev === st.dev && st.nlink === 1;
  if (!sameFs && st.size > (ctx.maxCopyBytes ?? 1 << 30)) {
    return {
      ok: false,
      code: 'too_large',
      message: `${path} is ${st.size} bytes on another filesystem; at most ${ctx.maxCopyBytes ?? 1 << 30} are copied`,
    };
  }
  const id = randomUUID();
  const entry = join(ctx.dir, id);
  const content = join(entry, 'content');
  await mkdir(entry, { mode: 0o700 });
  // True once the original path no longer holds the file: from then on `content` is the only copy.
  let moved = false;
  try {
    if (sameFs) {
      await rename(path, content);
      moved = true;
      const after = await lstat(content);
      if (after.ino !== st.ino || after.dev !== st.dev) {
        // Swapped between the check and the move: put it back, refuse.
        await rename(content, path);
        moved = false;
        throw Object.assign(new Error(`${path} changed while it was being quarantined`), {
          code: 'ECHANGED',
        });
      }
    } else {
      await copyDurably(path, content, 0o400);
      const now = await lstat(path);
      if (now.ino !== st.ino || now.dev !== st.dev) {
        throw Object.assign(new Error(`${path} changed while it was being quarantined`), {
          code: 'ECHANGED',
        });
      }
      await unlink(path);
      moved = true;
    }
    await chown(content, 0, 0);
    await chmod(content, 0o400);
    const meta: SavedMeta = {
      version: 1,
      id,
      originalPath: path,
      sha256: await sha256Of(content),
      size: st.size,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      atimeMs: st.atimeMs,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      quarantinedAtMs: Date.now(),
    };
    await writeFile(join(entry, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    await syncDir(entry);
    await syncDir(dirname(path)).catch(() => {});
    return {
      ok: true,
      code: '',
      message: `quarantined ${path} (sha256 ${meta.sha256}) as ${id}`,
      file: toWire(meta),
    };
  } catch (err) {
    if (moved) {
      // Never lose the file: put it back where it was (it keeps its bytes; mode/owner as saved).
      try {
        await link(content, path);
        await chown(path, st.uid, st.gid);
        await chmod(path, st.mode & 0o7777);
        moved = false;
      } catch {
        return {
          ok: false,
          code: 'error',
          message: `could not quarantine ${path} (${(err as Error).message}); the file is kept in ${content}`,
        };
      }
    }
    await rm(entry, { recursive: true, force: true }).catch(() => {});
    return { ok: false, code: 'error', message: `could not quarantine ${path}: ${(err as Error).message}` };
  }
}

function parseMeta(text: string, id: string): SavedMeta | string {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    return `meta.json of ${id} is not JSON (${(err as Error).message})`;
  }
  const int = (v: unknown, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (m.version !== 1 || m.id !== id) return `meta.json of ${id} is not this entry's`;
  if (typeof m.originalPath !== 'string' || checkPath(m.originalPath))
    return `meta.json of ${id}: bad originalPath`;
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256))
    return `meta.json of ${id}: bad sha256`;
  if (
    !int(m.mode, 0o7777) ||
    !int(m.uid, 0xffffffff) ||
    !int(m.gid, 0xffffffff) ||
    !int(m.size, Number.MAX_SAFE_INTEGER)
  )
    return `meta.json of ${id}: bad mode, owner or size`;
  if (!num(m.atimeMs) || !num(m.mtimeMs) || !num(m.ctimeMs) || !num(m.quarantinedAtMs))
    return `meta.json of ${id}: bad times`;
  return m as unknown as SavedMeta;
}

/**
 * restoreQuarantined puts a quarantined file back at its original path with the same bytes (its
 * sha256 is checked first), mode, owner and access/modification times, and removes the entry.
 * It never overwrites: a file that exists at the original path now makes it refuse.
 */
export async function restoreQuarantined(id: string, ctx: QuarantineContext): Promise<FileOutcome> {
  if (!UUID.test(id))
    return { ok: false, code: 'bad_request', message: `quarantine id ${JSON.stringify(id)} is not a UUID` };
  const entry = join(ctx.dir, id);
  let text: string;
  try {
    text = await readFile(join(entry, 'meta.json'), 'utf8');
  } catch {
    return { ok: false, code: 'not_found', message: `no quarantined file ${id}` };
  }
  const m = parseMeta(text, id);
  if (typeof m === 'string') return { ok: false, code: 'corrupt', message: m };
  const content = join(entry, 'content');
  let digest: string;
  try {
    digest = await sha256Of(content);
  } catch (err) {
    return {
      ok: false,
      code: 'corrupt',
      message: `quarantined content of ${id} is unreadable: ${(err as Error).message}`,
    };
  }
  if (digest !== m.sha256)
    return {
      ok: false,
      code: 'corrupt',
      message: `quarantined content of ${id} does not match its sha256; not restored`,
    };
  const prot = await isProtected(m.originalPath, ctx);
  if (prot)
    return {
      ok: false,
      code: 'protected',
      message: `${m.originalPath} is one of the agent's own files (${prot}); refused`,
    };
  try {
    await lstat(m.originalPath);
    return {
      ok: false,
      code: 'exists',
      message: `${m.originalPath} exists again; move it away first (nothing was overwritten)`,
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      return {
        ok: false,
        code: 'error',
        message: `cannot look at ${m.originalPath}: ${(err as Error).message}`,
      };
    }
  }
  const parent = dirname(m.originalPath);
  try {
    if (!(await stat(parent)).isDirectory())
      return { ok: false, code: 'not_found', message: `${parent} is not a directory` };
  } catch {
    return { ok: false, code: 'not_found', message: `directory ${parent} no longer exists` };
  }
  try {
    try {
      // A hard link never replaces an existing file (EEXIST), unlike rename.
      await link(content, m.originalPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST')
        return {
          ok: false,
          code: 'exists',
          message: `${m.originalPath} exists again; nothing was overwritten`,
        };
      if (code !== 'EXDEV') throw err;
      await copyDurably(content, m.originalPath, 0o600);
    }
    await chown(m.originalPath, m.uid, m.gid);
    await chmod(m.originalPath, m.mode); // after chown, which clears set-id bits
    await utimes(m.originalPath, m.atimeMs / 1000, m.mtimeMs / 1000);
    await syncDir(parent).catch(() => {});
    await rm(entry, { recursive: true, force: true });
    return {
      ok: true,
      code: '',
      message: `restored ${m.originalPath} from quarantine ${id}`,
      file: toWire(m),
    };
  } catch (err) {
    return {
      ok: false,
      code: 'error',
      message: `could not restore ${m.originalPath}: ${(err as Error).message}`,
    };
  }
}
