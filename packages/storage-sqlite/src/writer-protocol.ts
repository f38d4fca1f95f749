import type { ErrorCode } from '@palisade/common';
import type { BatchResult } from '@palisade/storage';
import type { BatchRow } from './batch-encoding.js';

/** WriterRequest is a message from the storage to its writer thread. */
export type WriterRequest = { type: 'write'; id: number; rows: BatchRow[] } | { type: 'close' };

/** WriterReply answers one write request: its results, or the error that rolled it back; 'ready' once open. */
export type WriterReply =
  | 'ready'
  | { id: number; results: BatchResult[] }
  | {
      id: number;
      error: { message: string; palisadeCode: ErrorCode | undefined; sqliteCode: string | undefined };
    };
