import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { T0 } from './conformance-fixtures.js';
import { type OpenStorage, rejectsWith, withStorage } from './conformance-helpers.js';
import type { SessionRecord, UserRecord } from './user-types.js';

function user(over: Partial<UserRecord> = {}): UserRecord {
  return {
    id: 'user-1',
    name: 'alice',
    role: 'analyst',
    passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
    createdAt: T0,
    passwordChangedAt: T0,
    mustChangePassword: true,
    failedLogins: 0,
    lockedUntil: null,
    disabledAt: null,
    lastLoginAt: null,
    ...over,
  };
}

function session(over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    idHash: 'a'.repeat(64),
    userId: 'user-1',
    csrfToken: 'csrf-1',
    createdAt: T0,
    lastSeenAt: T0,
    expiresAt: T0 + 3_600_000,
    remoteAddress: '192.0.2.9',
    ...over,
  };
}

/** usersConformance registers the tests of console accounts and their sessions. */
export function usersConformance(open: OpenStorage): void {
  describe('console users', () => {
    it('stores, finds by id and name, lists oldest first and refuses a taken name', () =>
      withStorage(open, async (s) => {
        const a = user();
        const b = user({
          id: 'user-2',
          name: 'bob',
          role: 'viewer',
          createdAt: T0 + 1,
          mustChangePassword: false,
        });
        await s.createUser(b);
        await s.createUser(a);
        assert.deepEqual(await s.getUser('user-1'), a);
        assert.deepEqual(await s.getUserByName('bob'), b);
        assert.equal(await s.getUserByName('carol'), undefined);
        assert.deepEqual(await s.listUsers(), [a, b]);
        await rejectsWith(s.createUser(user({ id: 'user-3' })), 'conflict', /alice/);
      }));

    it('updates the fields it is given and refuses an unknown user', () =>
      withStorage(open, async (s) => {
        await s.createUser(user());
        await s.updateUser('user-1', { mustChangePassword: false, passwordHash: 'new', lastLoginAt: T0 + 5 });
        const u = await s.getUser('user-1');
        assert.equal(u?.mustChangePassword, false);
        assert.equal(u?.passwordHash, 'new');
        assert.equal(u?.lastLoginAt, T0 + 5);
        assert.equal(u?.role, 'analyst');
        await rejectsWith(s.updateUser('nobody', { role: 'admin' }), 'not_found');
      }));

    it('counts failed logins and locks at the threshold', () =>
      withStorage(open, async (s) => {
        await s.createUser(user());
        for (let i = 1; i <= 4; i++) {
          const u = await s.recordLoginFailure('user-1', 5, T0 + 900_000);
          assert.equal(u.failedLogins, i);
          assert.equal(u.lockedUntil, null);
        }
        const locked = await s.recordLoginFailure('user-1', 5, T0 + 900_000);
        assert.equal(locked.failedLogins, 5);
        assert.equal(locked.lockedUntil, T0 + 900_000);
        await rejectsWith(s.recordLoginFailure('nobody', 5, T0), 'not_found');
      }));
  });

  describe('console sessions', () => {
    it("stores, finds, touches and deletes sessions; a user's sessions end together", () =>
      withStorage(open, async (s) => {
        await s.createUser(user());
        const one = session();
        const two = session({ idHash: 'b'.repeat(64), csrfToken: 'csrf-2' });
        await s.createSession(one);
        await s.createSession(two);
        assert.deepEqual(await s.findSession(one.idHash), one);
        await s.touchSession(one.idHash, T0 + 10);
        await s.touchSession(one.idHash, T0 + 5);
        assert.equal((await s.findSession(one.idHash))?.lastSeenAt, T0 + 10);
        await s.deleteSession(one.idHash);
        assert.equal(await s.findSession(one.idHash), undefined);
        assert.equal(await s.deleteUserSessions('user-1'), 1);
        assert.equal(await s.findSession(two.idHash), undefined);
      }));

    it('refuses a session of an unknown user', () =>
      withStorage(open, async (s) => {
        await rejectsWith(s.createSession(session({ userId: 'nobody' })), 'not_found');
      }));
  });
}
