import { type AgentSelf, AgentSelfSchema, create } from '@palisade/protocol';
import { descendantPids } from './proc-tree.linux.js';

/**
 * agentSelf is what response actions must never touch, as the agent reports it to the server:
 * its own pid, its helpers (every process below it) and its files.
 */
export function agentSelf(protectedPaths: readonly string[]): AgentSelf {
  return create(AgentSelfSchema, {
    pid: process.pid,
    helperPids: descendantPids(process.pid),
    protectedPaths: [...protectedPaths],
  });
}
