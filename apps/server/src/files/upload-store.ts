import { type Hash, createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, open, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PalisadeError } from '@palisade/common';

const SHA256 = /^[0-9a-f]{64}$/;
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** UploadState is what the receiver keeps of one upload on disk (`incoming/<id>.json`). */
export interface UploadState {
  id: string;
  agentId: string;
  commandId: string;
  /** The path on the endpoint, as the agent reports it. */
  path: string;
  size: number;
  /** The file's mtime on the endpoint when the agent started reading it, ms. */
  mtimeMs: number;
  chunkBytes: number;
  /** Bytes received, verified and fsynced; the next chunk starts here. */
  received: number;
  startedAt: number;
  /** Set once the file is stored: its sha256. */
  sha256?: string;
}

/** StoredBlob is the outcome of a completed upload. */
export interface StoredBlob {
  upload: UploadState;
  sha256: string;
  size: number;
  /** True when a file with this hash was stored already (it is kept once). */
  duplicate: boolean;
}

/** ChunkOutcome says what became of one chunk. */
export interface ChunkOutcome {
  received: number;
  /** The chunk was received before (same bytes); nothing was written. */
  duplicate: boolean;
}

const bad = (msg: string) => new PalisadeError('bad_request', msg);
const conflict = (msg: string, details?: Record<string, unknown>) =>
  new PalisadeError('conflict', msg, details);

/**
 * UploadStore keeps uploads in progress and the files they become, under `<dataDir>/files`
 * (ADR 0026): `incoming/<id>.part` holds the bytes received so far and `incoming/<id>.json` the
 * state, rewritten atomically after every chunk is verified and fsynced, so the received offset
 * survives a crash; a part file longer than it (a chunk cut off mid-write) is cut back at open.
 * A completed upload is renamed to `blobs/<aa>/<sha256>` (content-addressed: the same bytes from
 * two hosts are kept once), mode 0400 in 0700 directories, never executable.
 */
export class UploadStore {
  readonly root: string;
  private readonly incoming: string;
  private readonly blobs: string;
  /** Running whole-file hashes, by upload id, with the offset they cover. Rebuilt from the part file when missing. */
  private readonly hashes = new Map<string, { hash: Hash; at: number }>();

  constructor(dataDir: string) {
    this.root = join(dataDir, 'files');
    this.incoming = join(this.root, 'incoming');
    this.blobs = join(this.root, 'blobs');
    for (const d of [this.root, this.incoming, this.blobs]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
    }
  }

  private statePath(id: string): string {
    return join(this.incoming, `${id}.json`);
  }
  private partPath(id: string): string {
    return join(this.incoming, `${id}.part`);
  }

  /** blobPath is where the file with this sha256 is stored. */
  blobPath(sha256: string): string {
    if (!SHA256.test(sha256)) throw bad('not a sha256');
    return join(this.blobs, sha256.slice(0, 2), sha256);
  }

  private async saveState(s: UploadState): Promise<void> {
    const p = this.statePath(s.id);
    const tmp = `${p}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(s));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, p);
  }

  /** openUploads lists the unfinished uploads of one agent. */
  openUploads(agentId: string): UploadState[] {
    const out: UploadState[] = [];
    for (const f of readdirSync(this.incoming)) {
      if (!f.endsWith('.json')) continue;
      try {
        const s = JSON.parse(readFileSync(join(this.incoming, f), 'utf8')) as UploadState;
        if (s.agentId === agentId && s.sha256 === undefined) out.push(s);
      } catch {
        // a state file being replaced; the next look sees it
      }
    }
    return out;
  }

  /**
   * begin starts an upload, or returns the agent's unfinished upload of the same command and
   * path (an agent that lost its own record of the upload id resumes it this way).
   */
  async begin(
    agentId: string,
    m: { commandId: string; path: string; size: number; mtimeMs: number },
    chunkBytes: number,
    now: number,
  ): Promise<UploadState> {
    const same = this.openUploads(agentId).find(
      (s) => s.commandId === m.commandId && s.path === m.path && s.size === m.size && s.mtimeMs === m.mtimeMs,
    );
    if (same) return same;
    const s: UploadState = {
      id: randomUUID(),
      agentId,
      commandId: m.commandId,
      path: m.path,
      size: m.size,
      mtimeMs: m.mtimeMs,
      chunkBytes,
      received: 0,
      startedAt: now,
    };
    await writeFile(this.partPath(s.id), '', { mode: 0o600 });
    await this.saveState(s);
    return s;
  }

  /**
   * get returns upload `id` of `agentId`: unknown ids are not_found, another agent's are
   * forbidden. A part file longer than the state says (a crash mid-chunk) is cut back.
   */
  async get(id: string, agentId: string): Promise<UploadState> {
    if (!UPLOAD_ID.test(id)) throw bad(`upload id ${JSON.stringify(id.slice(0, 80))} is not a UUID`);
    let s: UploadState;
    try {
      s = JSON.parse(await readFile(this.statePath(id), 'utf8')) as UploadState;
    } catch {
      throw new PalisadeError('not_found', `no upload ${id}`);
    }
    if (s.agentId !== agentId) throw new PalisadeError('forbidden', `upload ${id} belongs to another agent`);
    if (
      s.sha256 === undefined &&
      existsSync(this.partPath(id)) &&
      statSync(this.partPath(id)).size !== s.received
    ) {
      await truncate(this.partPath(id), s.received);
      this.hashes.delete(id);
    }
    return s;
  }

  /** hashOfRange is the sha256 of bytes [start, end) of the part file, read as a stream. */
  private async hashOfRange(id: string, start: number, end: number): Promise<Hash> {
    const h = createHash('sha256');
    if (end > start) {
      for await (const c of createReadStream(this.partPath(id), {
        start,
        end: end - 1,
        highWaterMark: 1 << 20,
      })) {
        h.update(c as Buffer);
      }
    }
    return h;
  }

  /** wholeHash is the running hash of what upload `s` received, rebuilt from disk if needed. */
  private async wholeHash(s: UploadState): Promise<Hash> {
    const h = this.hashes.get(s.id);
    if (h && h.at === s.received) return h.hash;
    const rebuilt = await this.hashOfRange(s.id, 0, s.received);
    this.hashes.set(s.id, { hash: rebuilt, at: s.received });
    return rebuilt;
  }

  /**
   * writeChunk takes one chunk: `length` bytes at `offset` from `body`, whose sha256 must be
   * `sha256`. Chunks start at a multiple of the chunk size and are a whole chunk (the file's last
   * may be shorter). The next chunk is written and verified, then fsynced and counted; a chunk
   * received before is checked against what is on disk and answered as a duplicate; one that
   * overlaps differently or leaves a gap is refused with the offset expected. A chunk that fails
   * its hash is cut off again: nothing received before is lost.
   */
  async writeChunk(
    s: UploadState,
    offset: number,
    length: number,
    sha256: string,
    body: AsyncIterable<Buffer>,
  ): Promise<ChunkOutcome> {
    if (s.sha256 !== undefined) throw conflict(`upload ${s.id} is complete`, { received: s.received });
    if (!SHA256.test(sha256)) throw bad('x-chunk-sha256 must be a sha256 in lowercase hex');
    if (!Number.isSafeInteger(offset) || offset < 0) throw bad('offset must be a whole number from 0');
    if (length > s.chunkBytes)
      throw new PalisadeError(
        'payload_too_large',
        `chunk of ${length} bytes is over the chunk size ${s.chunkBytes}`,
      );
    if (offset % s.chunkBytes !== 0)
      throw conflict(`offset ${offset} is not at a chunk boundary (chunk size ${s.chunkBytes})`, {
        received: s.received,
      });
    const expectLen = Math.min(s.chunkBytes, s.size - offset);
    if (offset >= s.size || length !== expectLen)
      throw bad(
        `chunk at ${offset} must be ${Math.max(0, expectLen)} bytes (file size ${s.size}), got ${length}`,
      );
    if (offset > s.received)
      throw conflict(`offset ${offset} skips data: ${s.received} bytes received so far`, {
        received: s.received,
      });
    if (offset < s.received) {
      // Sent again (the agent did not see the answer): idempotent if it is the same bytes.
      const h = createHash('sha256');
      let n = 0;
      for await (const c of body) {
        n += c.byteLength;
        if (n > length) throw bad(`chunk body is longer than its content-length ${length}`);
        h.update(c);
      }
      if (n !== length) throw bad(`chunk body ended after ${n} of ${length} bytes`);
      const got = h.digest('hex');
      if (got !== sha256) throw bad(`chunk at ${offset}: sha256 of the body is ${got}, not ${sha256}`);
      const onDisk = (await this.hashOfRange(s.id, offset, offset + length)).digest('hex');
      if (onDisk !== sha256)
        throw conflict(`chunk at ${offset} differs from the bytes received there before`, {
          received: s.received,
        });
      return { received: s.received, duplicate: true };
    }
    const whole = (await this.wholeHash(s)).copy();
    const chunkHash = createHash('sha256');
    const fh = await open(this.partPath(s.id), 'r+');
    let n = 0;
    try {
      try {
        for await (const c of body) {
          if (n + c.byteLength > length) throw bad(`chunk body is longer than its content-length ${length}`);
          chunkHash.update(c);
          whole.update(c);
          let w = 0;
          while (w < c.byteLength) {
            const { bytesWritten } = await fh.write(c, w, c.byteLength - w, offset + n + w);
            w += bytesWritten;
          }
          n += c.byteLength;
        }
        if (n !== length) throw bad(`chunk body ended after ${n} of ${length} bytes`);
        const got = chunkHash.digest('hex');
        if (got !== sha256) throw bad(`chunk at ${offset}: sha256 of the body is ${got}, not ${sha256}`);
        await fh.sync();
      } catch (err) {
        await fh.truncate(s.received);
        throw err;
      }
    } finally {
      await fh.close();
    }
    s.received = offset + length;
    await this.saveState(s);
    this.hashes.set(s.id, { hash: whole, at: s.received });
    return { received: s.received, duplicate: false };
  }

  /**
   * complete checks the whole file's sha256 and stores it content-addressed. Completing a stored
   * upload again answers the same (idempotent). A wrong hash fails the upload: it is removed, the
   * agent reads the file again (it changed, or the agent misread it).
   */
  async complete(s: UploadState, sha256: string): Promise<StoredBlob> {
    if (!SHA256.test(sha256)) throw bad('sha256 must be a sha256 in lowercase hex');
    if (s.sha256 !== undefined) {
      if (s.sha256 !== sha256) throw conflict(`upload ${s.id} was stored with sha256 ${s.sha256}`);
      return { upload: s, sha256, size: s.size, duplicate: true };
    }
    if (s.received !== s.size)
      throw conflict(`upload ${s.id} has ${s.received} of ${s.size} bytes`, { received: s.received });
    const got = (await this.wholeHash(s)).copy().digest('hex');
    if (got !== sha256) {
      await this.discard(s.id);
      throw new PalisadeError(
        'bad_request',
        `the received file's sha256 is ${got}, not ${sha256}; the upload is discarded`,
      );
    }
    const dest = this.blobPath(sha256);
    mkdirSync(join(this.blobs, sha256.slice(0, 2)), { recursive: true, mode: 0o700 });
    const duplicate = existsSync(dest);
    if (duplicate) {
      await rm(this.partPath(s.id), { force: true });
    } else {
      await chmod(this.partPath(s.id), 0o400);
      await rename(this.partPath(s.id), dest);
      await syncDir(join(this.blobs, sha256.slice(0, 2)));
    }
    s.sha256 = sha256;
    await this.saveState(s);
    this.hashes.delete(s.id);
    return { upload: s, sha256, size: s.size, duplicate };
  }

  /** discard removes an upload and what it received. */
  async discard(id: string): Promise<void> {
    this.hashes.delete(id);
    await rm(this.partPath(id), { force: true });
    await rm(this.statePath(id), { force: true });
  }

  /** removeBlob deletes a stored file (retention, quota). */
  async removeBlob(sha256: string): Promise<void> {
    await rm(this.blobPath(sha256), { force: true });
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
