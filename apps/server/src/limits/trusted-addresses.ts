/**
 * TrustedAddresses remembers the source addresses agents have recently authenticated from (a
 * client certificate of our CA), for a day, on every listener of the process. A new connection
 * from such an address is admitted outside the unauthenticated pool, so a flood from elsewhere
 * cannot keep an enrolled agent's reconnects and check-ins out. Bounded: the least recently
 * confirmed addresses are forgotten first.
 */
export class TrustedAddresses {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxAddresses = 100_000,
    private readonly ttlMs = 24 * 60 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** add records that an agent authenticated from `address` just now. */
  add(address: string): void {
    this.seen.delete(address);
    this.seen.set(address, this.now());
    if (this.seen.size > this.maxAddresses) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** has tells whether an agent authenticated from `address` within the last day. */
  has(address: string): boolean {
    const at = this.seen.get(address);
    if (at === undefined) return false;
    if (this.now() - at <= this.ttlMs) return true;
    this.seen.delete(address);
    return false;
  }
}
