import type { GroupRecord, Storage } from '@palisade/storage';
import { type PushDeps, pushGroupPolicy } from './policy-push.js';

/**
 * nextRevision is the revision of the next policy change: one more than the highest revision of
 * any group. Revisions are ordered across groups, not per group, because an agent ignores a policy
 * older than the one it runs (a late check-in answer must not undo a newer push), and an agent
 * that moves to another group must not see that group's policy as older.
 */
export async function nextRevision(storage: Storage): Promise<number> {
  const groups = await storage.listGroups();
  return groups.reduce((m, g) => Math.max(m, g.policy.revision), 0) + 1;
}

/**
 * catchUpRevision makes sure agents that arrive in `target` from a group at `fromRevision` take
 * its policy: when the target's revision is older, its unchanged policy gets a new revision and is
 * pushed to all its connected agents (they re-apply the same settings). Returns the group as it is now.
 */
export async function catchUpRevision(
  d: PushDeps,
  target: GroupRecord,
  fromRevision: number,
): Promise<GroupRecord> {
  if (target.policy.revision >= fromRevision) return target;
  const policy = { ...target.policy, revision: await nextRevision(d.storage) };
  await d.storage.updateGroup(target.id, { policy });
  const updated = { ...target, policy };
  await pushGroupPolicy(d, updated);
  return updated;
}
