import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, DAY_MS, type Logger } from '@palisade/common';
import type { RegistrationKeyRecord, Storage } from '@palisade/storage';
import { recordAudit } from '../audit/audit-log.js';
import { DEFAULT_GROUP } from './default-group.js';
import { createRegistrationKey } from './registration-keys.js';
import { ensurePrivateDir, writePrivateFile } from '../fs-secure.js';
import { fleetLock } from './fleet-lock.js';

/** ROTATE_BEFORE_MS: a group gets a new key 30 days before its newest usable key expires. */
export const ROTATE_BEFORE_MS = 30 * DAY_MS;

/** RotatedKey is a key the rotation job created. */
export interface RotatedKey {
  keyId: string;
  groupId: string;
  rotatedFrom: string;
  expiresAt: number;
}

/** KeyRotationDeps are what the rotation job needs. */
export interface KeyRotationDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Where secrets of generated keys wait to be claimed (`<dataDir>/pending-keys`, 0700). */
  dataDir: string;
}

/** usable tells whether a key can still register agents at `now`. */
export function usable(k: RegistrationKeyRecord, now: number): boolean {
  return k.revokedAt === null && now < k.expiresAt;
}

/**
 * KeyRotation generates each group's next registration key 30 days before the group's newest usable
 * key expires, so both work during the overlap. A group whose keys were all revoked or have expired
 * gets none: revoking every key is how an operator closes a group to new agents. The secret of a
 * generated key cannot be shown to anyone at that moment, so it waits in a 0600 file until an
 * admin claims it once (`claim`), which deletes the file; for the default group it also replaces
 * `<dataDir>/registration-key`, which the local quickstart agent reads.
 */
export class KeyRotation {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RotatedKey[]> | undefined;

  constructor(private readonly d: KeyRotationDeps) {}

  private pendingFile(keyId: string): string {
    return join(this.d.dataDir, 'pending-keys', keyId.replace(/[^0-9a-f-]/gi, ''));
  }

  /** runNow checks every group once and returns the keys it created. Concurrent calls share one run. */
  runNow(): Promise<RotatedKey[]> {
    this.running ??= fleetLock(this.d.storage)
      .run(() => this.check())
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async check(): Promise<RotatedKey[]> {
    const now = this.d.clock.now();
    const [groups, keys] = await Promise.all([this.d.storage.listGroups(), this.d.storage.listKeys()]);
    const out: RotatedKey[] = [];
    for (const g of groups) {
      const live = keys.filter((k) => k.groupId === g.id && usable(k, now));
      const newest = live.reduce<RegistrationKeyRecord | undefined>(
        (a, k) => (a === undefined || k.expiresAt > a.expiresAt ? k : a),
        undefined,
      );
      if (!newest || now < newest.expiresAt - ROTATE_BEFORE_MS) continue;
      // The successor keeps the quota: rotation must not widen what an operator limited.
      const created = await createRegistrationKey(this.d.storage, g.id, now, newest.id, newest.maxUses);
      try {
        ensurePrivateDir(join(this.d.dataDir, 'pending-keys'));
        writePrivateFile(this.pendingFile(created.id), `${created.secret}\n`);
      } catch (err) {
        // A key whose secret nobody can ever get is useless: revoke it so the next run tries again.
        await this.d.storage.revokeKey(created.id, now);
        throw err;
      }
      if (g.name === DEFAULT_GROUP) {
        writePrivateFile(join(this.d.dataDir, 'registration-key'), `${created.secret}\n`);
      }
      out.push({ keyId: created.id, groupId: g.id, rotatedFrom: newest.id, expiresAt: created.expiresAt });
      await recordAudit(this.d, null, null, {
        action: 'key.rotate',
        targetType: 'key',
        targetId: created.id,
        details: { group: g.name, group_id: g.id, rotated_from: newest.id, expires_at: created.expiresAt },
      });
    }
    return out;
  }

  /** claimable tells whether a generated key's secret is still waiting to be claimed. */
  claimable(keyId: string): boolean {
    return existsSync(this.pendingFile(keyId));
  }

  /** claim returns a generated key's secret and forgets it; undefined when there is none (any more). */
  claim(keyId: string): string | undefined {
    const f = this.pendingFile(keyId);
    if (!existsSync(f)) return undefined;
    const secret = readFileSync(f, 'utf8').trim();
    rmSync(f, { force: true });
    return secret;
  }

  /** start runs a check now and then every `intervalMs`; failures are logged and retried next time. */
  start(intervalMs: number): void {
    const tick = () => {
      this.runNow().catch((err: unknown) => this.d.logger.error({ err }, 'registration key rotation failed'));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  /** stop ends the periodic checks and waits for a check in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }
}
