import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import type { RestoreCodeVerifier } from './gen/palisade/v1/response_pb.js';

/**
 * Offline restore codes (docs/response.md): 20 symbols of Crockford's base32 (100 bits), shown to
 * people in four groups of five ("7KQ2M-...") and typed back at the host's console. The server
 * makes the code and sends the agent only a verifier: scrypt(normalized code, salt, N, r, p).
 */
export const RESTORE_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 20;

/** RESTORE_CODE_SCRYPT are the scrypt costs of new verifiers (N = 2^14: 16 MiB, ~50 ms). */
export const RESTORE_CODE_SCRYPT = { log2N: 14, r: 8, p: 1 } as const;

/** Verifier bounds an agent accepts, so no server can make it spend unbounded memory or time. */
const LIMITS = { log2N: [10, 16], r: [1, 16], p: [1, 4], salt: [16, 64], hash: [32, 32] } as const;

/** generateRestoreCode returns a new code in its display form (XXXXX-XXXXX-XXXXX-XXXXX). */
export function generateRestoreCode(): string {
  let s = '';
  for (let i = 0; i < CODE_LENGTH; i++) s += RESTORE_CODE_ALPHABET[randomInt(RESTORE_CODE_ALPHABET.length)];
  return s.match(/.{5}/g)!.join('-');
}

/**
 * normalizeRestoreCode turns what a person typed into the code's canonical form: case, spaces and
 * dashes do not matter, and O, I, L read as 0, 1, 1 (Crockford). Returns undefined for anything
 * that cannot be a code.
 */
export function normalizeRestoreCode(typed: string): string | undefined {
  const s = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (s.length !== CODE_LENGTH) return undefined;
  for (const c of s) if (!RESTORE_CODE_ALPHABET.includes(c)) return undefined;
  return s;
}

function derive(code: string, salt: Uint8Array, log2N: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2N;
  return new Promise((resolve, reject) =>
    scrypt(code, salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** makeVerifier computes the verifier of a code (fresh salt, RESTORE_CODE_SCRYPT costs). */
export async function makeVerifier(
  code: string,
): Promise<{ salt: Buffer; log2N: number; r: number; p: number; hash: Buffer }> {
  const n = normalizeRestoreCode(code);
  if (!n) throw new Error('not a restore code');
  const salt = randomBytes(16);
  const { log2N, r, p } = RESTORE_CODE_SCRYPT;
  return { salt, log2N, r, p, hash: await derive(n, salt, log2N, r, p) };
}

/** checkVerifier says what is wrong with a verifier (bounds, sizes, id), or undefined when usable. */
export function checkVerifier(v: RestoreCodeVerifier): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v.codeId)) return 'restore code id must be 1-64 letters, digits, _ or -';
  const range = (x: number, [lo, hi]: readonly [number, number]) => Number.isInteger(x) && x >= lo && x <= hi;
  if (!range(v.log2N, LIMITS.log2N))
    return `scrypt log2(N) must be ${LIMITS.log2N.join('-')}, got ${v.log2N}`;
  if (!range(v.r, LIMITS.r)) return `scrypt r must be ${LIMITS.r.join('-')}, got ${v.r}`;
  if (!range(v.p, LIMITS.p)) return `scrypt p must be ${LIMITS.p.join('-')}, got ${v.p}`;
  if (!range(v.salt.length, LIMITS.salt))
    return `salt must be ${LIMITS.salt.join('-')} bytes, got ${v.salt.length}`;
  if (!range(v.hash.length, LIMITS.hash)) return `hash must be 32 bytes, got ${v.hash.length}`;
  return undefined;
}

/** codeMatches tells whether `typed` is the code `v` verifies (constant-time comparison). */
export async function codeMatches(typed: string, v: RestoreCodeVerifier): Promise<boolean> {
  const n = normalizeRestoreCode(typed);
  if (!n || checkVerifier(v)) return false;
  const got = await derive(n, v.salt, v.log2N, v.r, v.p);
  return got.length === v.hash.length && timingSafeEqual(got, v.hash);
}
