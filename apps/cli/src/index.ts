/** @palisade/cli is the `palisade` command; its entry point is main.ts (see bin/palisade.js). */
export { formatTable } from './table.js';
