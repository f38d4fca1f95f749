/**
 * The host facts of this platform (the only one so far: Linux). Modules that need host facts
 * import them from here, so that another platform's implementation is chosen in one place.
 */
export { collectHostFacts } from './host-facts.linux.js';
