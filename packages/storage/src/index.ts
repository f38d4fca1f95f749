/** @palisade/storage declares what the server persists; back ends implement `Storage`. */
export type * from './types.js';
export type { Storage } from './storage.js';
