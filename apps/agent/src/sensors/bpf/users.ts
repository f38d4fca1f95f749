import { readFileSync, statSync } from 'node:fs';

/**
 * UserNames maps uids to account names from a passwd file. The file is parsed once and parsed
 * again when its mtime or size changes (checked at most every `recheckMs`), so new accounts show
 * up without a restart and a lookup costs a Map get.
 */
export class UserNames {
  private names = new Map<number, string>();
  private stamp = '';
  private checkedAt = -Infinity;

  /**
   * @param path passwd file. @default '/etc/passwd'
   * @param recheckMs how often to stat the file. @default 2000
   */
  constructor(
    private readonly path = '/etc/passwd',
    private readonly recheckMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  /** name returns the account name of `uid`, or '' when unknown. */
  name(uid: number): string {
    this.refresh();
    return this.names.get(uid) ?? '';
  }

  private refresh(): void {
    const t = this.now();
    if (t - this.checkedAt < this.recheckMs) return;
    this.checkedAt = t;
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      this.names.clear();
      this.stamp = '';
      return;
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    const names = new Map<number, string>();
    try {
      for (const line of readFileSync(this.path, 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length < 3 || f[0] === '' || f[0]?.startsWith('#')) continue;
        const uid = Number(f[2]);
        // The first entry for a uid wins, as getpwuid does.
        if (Number.isInteger(uid) && uid >= 0 && !names.has(uid)) names.set(uid, f[0] as string);
      }
    } catch {
      // Unreadable between stat and read: keep what we had; the next refresh retries.
      this.stamp = '';
      return;
    }
    this.names = names;
  }
}
