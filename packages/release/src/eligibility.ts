import { createHash } from 'node:crypto';

/**
 * eligibilityPoint places an agent on [0, 1) for a release: sha256 of "agent id \n version",
 * first 48 bits. It is the same for that agent and release on every server and every day, and
 * differs between releases, so a rollout's first 1 % are not always the same hosts.
 */
export function eligibilityPoint(agentId: string, version: string): number {
  const h = createHash('sha256').update(`${agentId}\n${version}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * isEligible tells whether an agent is inside a rollout's share (0-100 %) of a release: its
 * point lies below the share. Raising the share only ever adds agents.
 */
export function isEligible(agentId: string, version: string, sharePercent: number): boolean {
  return eligibilityPoint(agentId, version) < sharePercent / 100;
}
