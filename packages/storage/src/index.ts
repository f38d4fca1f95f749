/** @palisade/storage declares what the server persists; back ends implement `Storage`. */
export type * from './types.js';
export type * from './response-types.js';
export type * from './playbook-types.js';
export { SEVERITIES, severityRank } from './severity.js';
export type * from './alert-types.js';
export { ALERT_EVIDENCE_CAP, ALERT_SEVERITIES, ALERT_STATUSES } from './alert-types.js';
export type * from './user-types.js';
export { OPEN_COMMAND_STATES } from './response-types.js';
export type { Storage } from './storage.js';
export { eventMatches, validateEventQuery } from './event-filter.js';
export { type BatchIndex, indexOfEvents } from './batch-index.js';
