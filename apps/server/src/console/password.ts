import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { PalisadeError } from '@palisade/common';
import { randomBase62 } from '../secrets.js';

/** scrypt cost: N=2^15, r=8, p=1 (32 MiB, ~50-100 ms here), a 16-byte salt and a 32-byte key. */
const N = 32768;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const MAX_MEM = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: n, r, p, maxmem: MAX_MEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** hashPassword returns `scrypt$N$r$p$<salt>$<key>` (base64url), the only form a password is stored in. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** verifyPassword checks `password` against a stored hash in constant time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([\w-]+)\$([\w-]+)$/.exec(stored);
  if (!m) return false;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const want = Buffer.from(m[5]!, 'base64url');
  if (want.length !== KEY_BYTES) return false;
  const got = await derive(password, Buffer.from(m[4]!, 'base64url'), n, r, p);
  return timingSafeEqual(got, want);
}

/** A hash of a password nobody knows: unknown users cost as much time as known ones. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBase62(24));
  return decoy;
}

/** MIN_PASSWORD is the shortest password accepted; MAX_PASSWORD bounds scrypt's input. */
export const MIN_PASSWORD = 12;
export const MAX_PASSWORD = 256;

/** checkNewPassword refuses a password that is too short, too long, or the user's name. */
export function checkNewPassword(password: string, userName: string): void {
  if (password.length < MIN_PASSWORD)
    throw new PalisadeError(
      'validation_failed',
      `field new_password: a password needs at least ${MIN_PASSWORD} characters`,
    );
  if (password.length > MAX_PASSWORD)
    throw new PalisadeError('validation_failed', `field new_password: at most ${MAX_PASSWORD} characters`);
  if (password.toLowerCase().includes(userName.toLowerCase()))
    throw new PalisadeError(
      'validation_failed',
      'field new_password: a password must not contain the user name',
    );
}

/** temporaryPassword is a generated password (24 base62 characters, ~143 bits) that must be changed at first login. */
export function temporaryPassword(): string {
  return randomBase62(24);
}
