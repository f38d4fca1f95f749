import assert from 'node:assert/strict';
import { type ErrorCode, PalisadeError } from '@palisade/common';
import { agentFixture, groupFixture, keyFixture } from './conformance-fixtures.js';
import type { Storage } from './storage.js';
import type { AgentRecord, GroupRecord, RegistrationKeyRecord } from './types.js';

/** OpenStorage opens a fresh, empty, migrated storage. Each call must return an independent one. */
export type OpenStorage = () => Promise<Storage>;

/** withStorage runs `fn` on a fresh storage and closes it afterwards, whatever happens. */
export async function withStorage(open: OpenStorage, fn: (s: Storage) => Promise<void>): Promise<void> {
  const s = await open();
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** rejectsWith asserts that `p` rejects with a PalisadeError of `code` whose message matches `msg`. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, msg?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PalisadeError, `expected a PalisadeError, got ${String(err)}`);
    assert.equal(err.code, code, `wrong code for: ${err.message}`);
    if (msg) assert.match(err.message, msg);
    return true;
  });
}

/** Fleet is a group with a key and some agents, created in a storage. */
export interface Fleet {
  group: GroupRecord;
  key: RegistrationKeyRecord;
  agents: AgentRecord[];
}

/** seedFleet creates one group, one key and `n` agents enrolled with it. */
export async function seedFleet(s: Storage, n: number): Promise<Fleet> {
  const group = groupFixture();
  await s.createGroup(group);
  const key = keyFixture(group.id);
  await s.createKey(key);
  const agents: AgentRecord[] = [];
  for (let i = 0; i < n; i++) {
    const a = agentFixture(group.id, key.id, { registeredAt: group.createdAt + i });
    await s.createAgent(a);
    agents.push(a);
  }
  return { group, key, agents };
}

/** byId sorts records by id so that listings can be compared without depending on their order. */
export function byId<T extends { id: string }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
