import { randomUUID } from 'node:crypto';
import { type Clock, PalisadeError } from '@palisade/common';
import {
  type RestoreCodeVerifier,
  RestoreCodeVerifierSchema,
  create,
  generateRestoreCode,
  makeVerifier,
} from '@palisade/protocol';
import type { RestoreCodeRecord, Storage } from '@palisade/storage';
import { SecretBox } from '../secret-box.js';

const KEY_FILE = 'restore-code.key';

/**
 * RestoreCodes makes and keeps every agent's offline restore code (docs/response.md):
 * - the server makes the code and gives the agent only a verifier (scrypt hash and salt);
 * - the database holds that verifier and the code sealed with AES-256-GCM under a key kept in the
 *   data directory (0600, never in the database, so a database copy or a remote PostgreSQL does
 *   not reveal codes), until an admin is shown it once; then only the verifier remains;
 * - rotating makes a new code (shown at once) and the agent drops the old one at its next
 *   check-in or at once over its telemetry connection.
 */
export class RestoreCodes {
  private readonly box: SecretBox;
  /** Codes being made, so two check-ins at once do not make two. */
  private readonly making = new Map<string, Promise<RestoreCodeRecord>>();

  constructor(
    private readonly storage: Storage,
    dataDir: string,
    private readonly clock: Clock,
  ) {
    this.box = new SecretBox(dataDir, KEY_FILE);
  }

  private seal(agentId: string, codeId: string, code: string): string {
    return this.box.seal(code, `${agentId}\n${codeId}`);
  }

  private unseal(r: RestoreCodeRecord): string {
    return this.box.unseal(r.sealed ?? '', `${r.agentId}\n${r.codeId}`);
  }

  private async make(
    agentId: string,
    shownTo?: string,
  ): Promise<{ record: RestoreCodeRecord; code: string }> {
    const code = generateRestoreCode();
    const v = await makeVerifier(code);
    const codeId = randomUUID().slice(0, 8);
    const now = this.clock.now();
    const record: RestoreCodeRecord = {
      agentId,
      codeId,
      verifier: {
        salt: v.salt.toString('base64'),
        log2N: v.log2N,
        r: v.r,
        p: v.p,
        hash: v.hash.toString('base64'),
      },
      sealed: shownTo ? null : this.seal(agentId, codeId, code),
      createdAt: now,
      revealedAt: shownTo ? now : null,
      revealedBy: shownTo ?? null,
      usedAt: null,
    };
    await this.storage.putRestoreCode(record);
    return { record, code };
  }

  /** ensure returns the agent's restore code record, making one (sealed, not yet shown) if it has none. */
  async ensure(agentId: string): Promise<RestoreCodeRecord> {
    const have = await this.storage.getRestoreCode(agentId);
    if (have) return have;
    let p = this.making.get(agentId);
    if (!p) {
      p = this.make(agentId).then((m) => m.record);
      this.making.set(agentId, p);
      p.finally(() => this.making.delete(agentId)).catch(() => {});
    }
    return p;
  }

  /** verifier is what the agent checks codes with (its wire form). */
  static verifier(r: RestoreCodeRecord): RestoreCodeVerifier {
    return create(RestoreCodeVerifierSchema, {
      codeId: r.codeId,
      salt: Buffer.from(r.verifier.salt, 'base64'),
      log2N: r.verifier.log2N,
      r: r.verifier.r,
      p: r.verifier.p,
      hash: Buffer.from(r.verifier.hash, 'base64'),
    });
  }

  /** reveal shows the agent's current code once (`conflict` when it was shown before). */
  async reveal(agentId: string, by: string): Promise<{ code: string; record: RestoreCodeRecord }> {
    const rec = await this.ensure(agentId);
    const before = await this.storage.revealRestoreCode(agentId, rec.codeId, this.clock.now(), by);
    if (!before) {
      const now = await this.storage.getRestoreCode(agentId);
      throw new PalisadeError(
        'conflict',
        `the restore code of agent ${agentId} was shown already${now?.revealedAt ? ` on ${new Date(now.revealedAt).toISOString()} to ${now.revealedBy}` : ''}; rotate it to get a new one`,
      );
    }
    return { code: this.unseal(before), record: { ...before, sealed: null } };
  }

  /** rotate replaces the agent's code with a new one, shown now to `by` (never stored in the clear). */
  async rotate(agentId: string, by: string): Promise<{ code: string; record: RestoreCodeRecord }> {
    return this.make(agentId, by);
  }

  /** replaceUsed makes a new, not yet shown code after the old one was used at the host. */
  async replaceUsed(agentId: string): Promise<RestoreCodeRecord> {
    return (await this.make(agentId)).record;
  }
}
