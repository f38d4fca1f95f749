/** The agent's durable spool: sealed, numbered batches in append-only segments. */
export { Spool, type SpoolOptions, type SpoolStats } from './spool.js';
export type { DropReport } from './drop-report.js';
export type { SpoolEntry } from './segment.js';
export { SpoolCipher, SpoolCipherError } from './spool-cipher.js';
