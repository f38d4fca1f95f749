import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** CollectRefusal is a file the agent will not collect, with the reason to report. */
export class CollectRefusal extends Error {
  override name = 'CollectRefusal';
  constructor(
    readonly code: 'not_found' | 'not_regular' | 'too_large' | 'symlink' | 'bad_request',
    message: string,
  ) {
    super(message);
  }
}

/** OpenedFile is a regular file opened for collection, with what it was when opened. */
export interface OpenedFile {
  fh: FileHandle;
  path: string;
  stat: Stats;
}

function kind(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * openRegular opens `path` for collection: absolute paths only; the last component is opened with
 * O_NOFOLLOW (a symlink there is refused, a loop too) and O_NONBLOCK (a FIFO does not block the
 * open), then checked with fstat on the descriptor itself: only a regular file of at most
 * `maxBytes` is accepted. Devices, FIFOs, sockets and directories are refused with the reason.
 */
export async function openRegular(path: string, maxBytes: number): Promise<OpenedFile> {
  if (!path.startsWith('/') || path.includes('\0'))
    throw new CollectRefusal('bad_request', `path ${JSON.stringify(path)} must be absolute`);
  let fh: FileHandle;
  try {
    fh = await open(
      path,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CollectRefusal('not_found', `${path}: no such file`);
    if (code === 'ELOOP')
      throw new CollectRefusal('symlink', `${path} is a symbolic link (or a loop of them); not followed`);
    if (code === 'ENXIO')
      throw new CollectRefusal(
        'not_regular',
        `${path} is a socket or a FIFO without a writer; not collected`,
      );
    throw new CollectRefusal('bad_request', `${path}: cannot open (${code ?? (err as Error).message})`);
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile())
      throw new CollectRefusal('not_regular', `${path} is ${kind(stat)}; only regular files are collected`);
    if (stat.size > maxBytes)
      throw new CollectRefusal(
        'too_large',
        `${path} is ${stat.size} bytes, over the cap of ${maxBytes} bytes`,
      );
    return { fh, path, stat };
  } catch (err) {
    await fh.close();
    throw err;
  }
}
