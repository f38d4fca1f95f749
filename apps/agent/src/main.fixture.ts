// Runs `palisade agent` from this build (the CLI does the same): used by main.test.ts.
import { runAgentCommand } from './main.js';

await runAgentCommand(process.argv.slice(2));
