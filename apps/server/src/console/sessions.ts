import { randomBytes, timingSafeEqual } from 'node:crypto';
import { PalisadeError } from '@palisade/common';
import type { SessionRecord, Storage, UserRecord } from '@palisade/storage';
import type { FastifyRequest } from 'fastify';
import { sha256Hex } from '../secrets.js';
import { readCookie, SESSION_COOKIE } from './cookies.js';

/** A session ends after this long without a request... */
export const SESSION_IDLE_MS = 30 * 60_000;
/** ...and this long after login, whatever its use. */
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60_000;
/** This many wrong passwords in a row lock the account for LOCK_MS. */
export const LOCK_AFTER_FAILURES = 5;
export const LOCK_MS = 15 * 60_000;
/** lastSeenAt is written at most this often per session (idle expiry is minutes, not seconds). */
const TOUCH_EVERY_MS = 15_000;

/** CSRF_HEADER is the header a state-changing request with a session cookie must carry. */
export const CSRF_HEADER = 'x-csrf-token';

/** Routes a user who must change the password may still call. */
const BEFORE_PASSWORD_CHANGE = new Set([
  'GET /api/v1/session',
  'DELETE /api/v1/session',
  'POST /api/v1/session/password',
]);

/** newSession makes a session for `user`: the cookie's secret (returned once, stored as sha256) and its CSRF token. */
export function newSession(
  user: UserRecord,
  now: number,
  remoteAddress: string,
): { secret: string; record: SessionRecord } {
  const secret = randomBytes(32).toString('base64url');
  return {
    secret,
    record: {
      idHash: sha256Hex(secret),
      userId: user.id,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + SESSION_ABSOLUTE_MS,
      remoteAddress,
    },
  };
}

/** hasSessionCookie tells whether a request carries the console's session cookie. */
export function hasSessionCookie(req: FastifyRequest): boolean {
  return readCookie(req.headers.cookie, SESSION_COOKIE) !== undefined;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * authenticateSession finds the session of the request's cookie and its user, and checks: the
 * session has not passed its idle or absolute expiry, the user is not disabled, a request that
 * changes state carries the session's CSRF token in X-CSRF-Token, and a user who must change the
 * password calls nothing but the session routes. `routeKey` is "METHOD /path" of the route.
 */
export async function authenticateSession(
  req: FastifyRequest,
  storage: Storage,
  routeKey: string,
  now: number,
): Promise<{ user: UserRecord; session: SessionRecord }> {
  const secret = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (!secret || secret.length > 128) throw new PalisadeError('unauthorized', 'no session; log in');
  const idHash = sha256Hex(secret);
  const session = await storage.findSession(idHash);
  if (!session) throw new PalisadeError('unauthorized', 'the session has ended; log in again');
  if (now >= session.expiresAt || now - session.lastSeenAt >= SESSION_IDLE_MS) {
    await storage.deleteSession(idHash);
    throw new PalisadeError('unauthorized', 'the session expired; log in again');
  }
  const user = await storage.getUser(session.userId);
  if (!user || user.disabledAt !== null) {
    await storage.deleteSession(idHash);
    throw new PalisadeError('unauthorized', 'this account is disabled');
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !sameString(sent, session.csrfToken))
      throw new PalisadeError('forbidden', 'missing or wrong X-CSRF-Token header for this session');
  }
  if (user.mustChangePassword && !BEFORE_PASSWORD_CHANGE.has(routeKey))
    throw new PalisadeError('forbidden', `user "${user.name}" must change the password first`);
  if (now - session.lastSeenAt >= TOUCH_EVERY_MS) await storage.touchSession(idHash, now);
  return { user, session };
}
