/** Limits on what either side accepts from the other. Both sides use the same numbers. */
export const LIMITS = {
  /** Largest WebSocket message accepted, compressed. @default 4 MiB */
  maxFrameBytes: 4 * 1024 * 1024,
  /** Largest decompressed batch. Anything claiming more is refused before decompression. @default 16 MiB */
  maxBatchBytes: 16 * 1024 * 1024,
  /** Most events in one batch. @default 10000 */
  maxEventsPerBatch: 10_000,
  /**
   * Deepest nesting of messages in an EventBatch (the batch itself is depth 1, an event 2, its
   * process 3, that process's parent 4). Deeper batches are refused at ingest. @default 32
   */
  maxMessageDepth: 32,
  /**
   * Batches an agent may have sent and not yet had acked (or refused) on one connection; the
   * server announces it in Welcome and closes a connection that goes over it. @default 8
   */
  maxInFlightBatches: 8,
  /** Largest registration or check-in request body. @default 64 KiB */
  maxRequestBytes: 64 * 1024,
} as const;
