import { randomUUID } from 'node:crypto';
import type { Logger } from '@palisade/common';
import { CommandSchema, create } from '@palisade/protocol';
import type { GroupRecord, Storage } from '@palisade/storage';
import { policyToWire } from '../registration/wire-records.js';
import type { SessionTable } from '../telemetry/session-table.js';

/** PushDeps are what pushing a policy needs. */
export interface PushDeps {
  storage: Storage;
  sessions: SessionTable;
  logger: Logger;
}

/**
 * pushPolicy sends the group's policy as `Command{set_policy}` over the telemetry connection of each
 * of `agentIds` that is connected now, and returns how many it reached. Agents that are offline get
 * the policy in their next Welcome or check-in, which always carry the group's current policy.
 */
export function pushPolicy(d: PushDeps, group: GroupRecord, agentIds: Iterable<string>): number {
  const policy = policyToWire(group.policy);
  let sent = 0;
  for (const id of agentIds) {
    const s = d.sessions.get(id);
    if (!s) continue;
    try {
      s.send(create(CommandSchema, { id: randomUUID(), action: { case: 'setPolicy', value: policy } }));
      sent++;
    } catch (err) {
      d.logger.warn({ agentId: id, msg: (err as Error).message }, 'could not push policy');
    }
  }
  d.logger.info(
    { group: group.id, revision: group.policy.revision, sent },
    'policy pushed to connected agents',
  );
  return sent;
}

/** pushGroupPolicy pushes the group's policy to all its live, not decommissioned agents. */
export async function pushGroupPolicy(d: PushDeps, group: GroupRecord): Promise<number> {
  const agents = await d.storage.listAgents();
  return pushPolicy(
    d,
    group,
    agents.filter((a) => a.groupId === group.id && a.decommissionedAt === null).map((a) => a.id),
  );
}
