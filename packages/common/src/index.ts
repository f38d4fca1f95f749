/** @palisade/common holds small building blocks with no dependencies: errors, backoff, clock, logger, log limiting. */
export * from './errors.js';
export * from './backoff.js';
export * from './clock.js';
export * from './logger.js';
export * from './log-limiter.js';
