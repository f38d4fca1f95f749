import { createHash, randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** randomBase62 returns `length` characters drawn uniformly from [0-9A-Za-z] by rejection sampling. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // 248 = 4 * 62: bytes above it would bias the first characters.
      if (b < 248) out += BASE62[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** sha256Hex is the hex sha256 of a string or bytes; secrets are stored only in this form. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** newSecret makes a secret such as `prk_<40 base62>`; its prefix says what it is for. */
export function newSecret(kind: 'prk' | 'pat' | 'pwh'): string {
  return `${kind}_${randomBase62(40)}`;
}

/** secretPrefix is the part of a secret that may be shown in listings to tell secrets apart. */
export function secretPrefix(secret: string): string {
  return secret.slice(0, 8);
}
