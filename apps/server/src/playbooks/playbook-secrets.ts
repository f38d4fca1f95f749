import type { PlaybookRecord } from '@palisade/storage';
import { newSecret } from '../secrets.js';
import { SecretBox } from '../secret-box.js';

const KEY_FILE = 'playbook-secret.key';

/**
 * PlaybookSecrets makes and keeps the webhook signing secret of each playbook: `pwh_` and 40
 * base62 characters, shown once when the playbook is made, stored sealed (AES-256-GCM under
 * `<data dir>/playbook-secret.key`, bound to the playbook's id) because the server must sign
 * with it again for every delivery; a hash would not do.
 */
export class PlaybookSecrets {
  private readonly box: SecretBox;

  constructor(dataDir: string) {
    this.box = new SecretBox(dataDir, KEY_FILE);
  }

  /** make returns a new secret and its sealed form for playbook `id`. */
  make(id: string): { secret: string; sealed: string } {
    const secret = newSecret('pwh');
    return { secret, sealed: this.box.seal(secret, `playbook\n${id}`) };
  }

  /** open returns playbook `p`'s secret. */
  open(p: PlaybookRecord): string {
    if (!p.webhookSecretSealed) throw new Error(`playbook ${p.name} has no webhook secret`);
    try {
      return this.box.unseal(p.webhookSecretSealed, `playbook\n${p.id}`);
    } catch {
      throw new Error(
        `the webhook secret of playbook ${p.name} cannot be opened (was ${KEY_FILE} replaced?)`,
      );
    }
  }
}
