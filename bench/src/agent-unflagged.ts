/**
 * agent-unflagged runs `palisade agent` the way the CLI did before it set V8 flags for the agent
 * (apps/cli/src/main.ts): the agent command alone, on Node's default heap settings. It is the
 * baseline the benchmark compares the CLI's default against. Usage: node agent-unflagged.js [agent flags]
 */
const agentIndex = new URL('../../apps/agent/dist/index.js', import.meta.url).href;
const { runAgentCommand } = (await import(agentIndex)) as { runAgentCommand(argv: string[]): Promise<void> };
await runAgentCommand(process.argv.slice(2));
