/** MiB is 2^20 bytes. */
export const MiB = 1024 * 1024;

/**
 * FileLimits bound the file receiver (docs/files.md). `palisade server` sets them with
 * `--files-*` flags; every field has a default (DEFAULT_FILE_LIMITS).
 */
export interface FileLimits {
  /** Chunk size the receiver asks agents for, bytes, 1–8 MiB. @default 4 MiB */
  chunkBytes: number;
  /** Largest file an agent may upload, bytes (the most `--max-bytes` may ask for). @default 1 GiB */
  maxFileBytes: number;
  /** Chunk transfers in progress at once over all agents; more are answered 429. @default 16 */
  maxConcurrentChunks: number;
  /** Unfinished uploads one agent may hold; more are answered 429. @default 16 */
  maxOpenUploadsPerAgent: number;
  /** Upload bytes per second over all agents, 0 = unlimited. @default 0 */
  globalBytesPerSecond: number;
  /** Upload bytes per second of one agent, 0 = unlimited. @default 0 */
  agentBytesPerSecond: number;
}

export const DEFAULT_FILE_LIMITS: Readonly<FileLimits> = {
  chunkBytes: 4 * MiB,
  maxFileBytes: 1024 * MiB,
  maxConcurrentChunks: 16,
  maxOpenUploadsPerAgent: 16,
  globalBytesPerSecond: 0,
  agentBytesPerSecond: 0,
};

/** resolveFileLimits fills in defaults and refuses limits out of range. */
export function resolveFileLimits(given: Partial<FileLimits> = {}): FileLimits {
  const l = { ...DEFAULT_FILE_LIMITS, ...given };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new Error(`files.${k} must be a whole number from 0, got ${v}`);
  }
  if (l.chunkBytes < MiB || l.chunkBytes > 8 * MiB)
    throw new Error(`files.chunkBytes must be from 1 MiB to 8 MiB, got ${l.chunkBytes}`);
  if (l.maxFileBytes < 1) throw new Error('files.maxFileBytes must be at least 1');
  if (l.maxConcurrentChunks < 1) throw new Error('files.maxConcurrentChunks must be at least 1');
  if (l.maxOpenUploadsPerAgent < 1) throw new Error('files.maxOpenUploadsPerAgent must be at least 1');
  return l;
}
