import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** KEY_BYTES is the length of the spool key: AES-256. */
export const SPOOL_KEY_BYTES = 32;
/** SALT_BYTES is the per-record salt the record's own key is derived from. */
const SALT_BYTES = 16;
const TAG_BYTES = 16;
const INFO = Buffer.from('palisade spool record v1');
/** AES-GCM with a key used exactly once may use a fixed nonce. */
const NONCE = Buffer.alloc(12);

/** SealedLayout is where the parts of a sealed blob sit (after a caller's own header). */
export const SEALED_OVERHEAD_BYTES = SALT_BYTES + TAG_BYTES;

/** SpoolCipherError says a sealed blob did not authenticate (wrong key, damage, tampering) or is malformed. */
export class SpoolCipherError extends Error {
  override name = 'SpoolCipherError';
}

/**
 * SpoolCipher encrypts and authenticates spool records and the spool state at rest (ADR 0032).
 * Each sealed blob is `salt (16) | tag (16) | ciphertext`: a fresh random 128-bit salt per blob,
 * the blob's own AES-256-GCM key derived from the spool key with HKDF-SHA256 (salt, info
 * "palisade spool record v1"), and a fixed all-zero nonce, which is safe because no derived key
 * is used twice (a repeated salt needs about 2^64 blobs). No counter has to survive a crash, and
 * the caller's `aad` (record header, segment number, "state") binds a blob to its place: a blob
 * copied to another segment or into the state file does not authenticate.
 */
export class SpoolCipher {
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.byteLength !== SPOOL_KEY_BYTES)
      throw new SpoolCipherError(`spool key must be ${SPOOL_KEY_BYTES} bytes, got ${key.byteLength}`);
    this.key = Buffer.from(key);
  }

  private recordKey(salt: Uint8Array): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, salt, INFO, SPOOL_KEY_BYTES));
  }

  /** seal encrypts `plain`, returning salt | tag | ciphertext (SEALED_OVERHEAD_BYTES longer). */
  seal(plain: Uint8Array, aad: Uint8Array): Buffer {
    const salt = randomBytes(SALT_BYTES);
    const c = createCipheriv('aes-256-gcm', this.recordKey(salt), NONCE);
    c.setAAD(aad);
    const out = Buffer.allocUnsafe(SEALED_OVERHEAD_BYTES + plain.byteLength);
    salt.copy(out, 0);
    const n = c.update(plain).copy(out, SEALED_OVERHEAD_BYTES);
    c.final();
    c.getAuthTag().copy(out, SALT_BYTES);
    if (n !== plain.byteLength) throw new Error('AES-GCM returned a different length');
    return out;
  }

  /** open authenticates and decrypts a sealed blob; any change to it or to `aad` is a SpoolCipherError. */
  open(sealed: Uint8Array, aad: Uint8Array): Buffer {
    if (sealed.byteLength < SEALED_OVERHEAD_BYTES)
      throw new SpoolCipherError(`sealed blob of ${sealed.byteLength} bytes is shorter than its header`);
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const d = createDecipheriv('aes-256-gcm', this.recordKey(buf.subarray(0, SALT_BYTES)), NONCE);
    d.setAAD(aad);
    d.setAuthTag(buf.subarray(SALT_BYTES, SEALED_OVERHEAD_BYTES));
    const plain = d.update(buf.subarray(SEALED_OVERHEAD_BYTES));
    try {
      d.final();
    } catch {
      throw new SpoolCipherError('does not authenticate (damaged, tampered with, or another key)');
    }
    return plain;
  }
}
