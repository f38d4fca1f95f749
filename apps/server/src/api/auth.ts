import { PalisadeError } from '@palisade/common';
import type { ApiTokenRecord, Role, Storage } from '@palisade/storage';
import type { FastifyRequest } from 'fastify';
import { sha256Hex } from '../secrets.js';

// metrics is below viewer: a scraper's token reads /metrics and nothing else.
const RANK: Record<Role, number> = { metrics: 0, viewer: 1, analyst: 2, admin: 3 };

/** roleAllows says whether a token with `have` may call a route that needs `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/**
 * authenticateToken finds the API token in `Authorization: Bearer <token>` by its sha256 and
 * checks it is live (not revoked, not expired at `nowMs`) and its role is enough for the route.
 */
export async function authenticateToken(
  req: FastifyRequest,
  storage: Storage,
  need: Role,
  nowMs: number,
): Promise<ApiTokenRecord> {
  const header = req.headers.authorization;
  if (!header) throw new PalisadeError('unauthorized', 'missing Authorization: Bearer <token> header');
  const m = /^Bearer\s+(\S{1,512})$/i.exec(header);
  if (!m?.[1]) throw new PalisadeError('unauthorized', 'Authorization header must be "Bearer <token>"');
  const token = await storage.findTokenBySecretHash(sha256Hex(m[1]));
  if (!token) throw new PalisadeError('unauthorized', 'API token is not valid');
  if (token.revokedAt !== null) throw new PalisadeError('unauthorized', 'API token was revoked');
  if (token.expiresAt !== null && nowMs >= token.expiresAt) {
    throw new PalisadeError(
      'unauthorized',
      `API token "${token.name}" expired on ${new Date(token.expiresAt).toISOString()}; create a new one (palisade tokens create)`,
    );
  }
  if (!roleAllows(token.role, need)) {
    throw new PalisadeError(
      'forbidden',
      `this route needs role ${need}; token "${token.name}" has ${token.role}`,
    );
  }
  return token;
}
