/** BackendAddress is one address and TCP port of a Palisade backend endpoint the rules let through. */
export interface BackendAddress {
  /** A canonical IPv4 or IPv6 address (no brackets, no zone). */
  address: string;
  family: 4 | 6;
  port: number;
}

/** ApplyReport says what applying isolation did besides installing the rules. */
export interface ApplyReport {
  /** Established connections to anything else that were cut. */
  cutConnections: number;
}

/**
 * IsolationBackend is the platform's way of isolating a host: on Linux one nftables table of our
 * own (nft-backend.linux.ts); Windows (WFP) and macOS (pf) implement the same interface. Whatever
 * it installs must outlive the agent process, so a crashed agent leaves the host isolated.
 */
export interface IsolationBackend {
  /** Names the mechanism in logs and reports ("nftables"). */
  readonly name: string;
  /**
   * apply isolates the host, allowing only loopback, `backend`, DNS, DHCP and IPv6 neighbour
   * discovery, in one atomic step (it also replaces rules applied before, e.g. when backend
   * addresses change), then cuts established connections to anything else.
   */
  apply(backend: readonly BackendAddress[], revision: number): Promise<ApplyReport>;
  /** remove lifts isolation and leaves the host exactly as it was before; removing twice is harmless. */
  remove(): Promise<void>;
  /** isApplied tells whether the host is isolated by this backend now. */
  isApplied(): Promise<boolean>;
}

/** IsolationUnavailable says the host cannot be isolated here, and why (no nft, not root, ...). */
export class IsolationUnavailable extends Error {
  override name = 'IsolationUnavailable';
}

/** IsolationRefused is the test-run safety refusing to act on the machine's own network namespace. */
export class IsolationRefused extends Error {
  override name = 'IsolationRefused';
}

/** UnsupportedBackend is the backend of platforms without isolation yet: every apply fails, saying so. */
export class UnsupportedBackend implements IsolationBackend {
  readonly name = 'none';
  constructor(private readonly why: string) {}
  async apply(): Promise<ApplyReport> {
    throw new IsolationUnavailable(this.why);
  }
  async remove(): Promise<void> {}
  async isApplied(): Promise<boolean> {
    return false;
  }
}
