import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PalisadeError } from '@palisade/common';

/**
 * SecretBox seals secrets the server must be able to read again (offline restore codes until they
 * are shown, webhook signing secrets) with AES-256-GCM under a 32-byte key in a file of the data
 * directory (0600, made on first use), never in the database: a copy of the database, or a remote
 * PostgreSQL, does not reveal them. `aad` binds a sealed value to what it belongs to, so it cannot
 * be moved to another record.
 */
export class SecretBox {
  private key: Buffer | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly keyFile: string,
  ) {}

  private sealKey(): Buffer {
    if (this.key) return this.key;
    const path = join(this.dataDir, this.keyFile);
    if (!existsSync(path)) writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
    const key = readFileSync(path);
    if (key.length !== 32) throw new PalisadeError('internal', `${path} must hold 32 bytes`);
    this.key = key;
    return key;
  }

  /** seal returns `plain` encrypted and authenticated (base64: iv, tag, ciphertext). */
  seal(plain: string, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.sealKey(), iv);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  /** unseal returns what `seal` sealed with the same `aad`; anything else throws. */
  unseal(sealed: string, aad: string): string {
    const raw = Buffer.from(sealed, 'base64');
    const d = createDecipheriv('aes-256-gcm', this.sealKey(), raw.subarray(0, 12));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  }
}
