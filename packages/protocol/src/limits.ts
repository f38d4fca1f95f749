/** Limits on what either side accepts from the other. Both sides use the same numbers. */
export const LIMITS = {
  /** Largest WebSocket message accepted, compressed. @default 4 MiB */
  maxFrameBytes: 4 * 1024 * 1024,
  /** Largest decompressed batch. Anything claiming more is refused before decompression. @default 16 MiB */
  maxBatchBytes: 16 * 1024 * 1024,
  /** Most events in one batch. @default 10000 */
  maxEventsPerBatch: 10_000,
  /** Largest registration or check-in request body. @default 64 KiB */
  maxRequestBytes: 64 * 1024,
} as const;
