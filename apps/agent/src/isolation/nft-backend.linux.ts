import type { ApplyReport, BackendAddress, IsolationBackend } from './isolation-backend.js';
import { IsolationUnavailable } from './isolation-backend.js';
import { assertIsolationAllowed } from './netns-guard.linux.js';
import { NFT_FAMILY, NFT_TABLE, renderRemoval, renderRuleset } from './nft-ruleset.js';
import { cutConnections } from './socket-cutter.linux.js';
import { type ToolRunner, toolRunner } from './tool-runner.linux.js';

/** NftBackendOptions configure the nftables backend. */
export interface NftBackendOptions {
  /**
   * Run nft and ss inside this named network namespace (`ip netns exec`) instead of this
   * process's own; tests drive isolation of a namespace they created this way.
   */
  netns?: string;
  /** Runs the tools; default: toolRunner(netns). */
  run?: ToolRunner;
}

/**
 * NftBackend isolates a Linux host with one nftables table of its own, `inet palisade_isolation`
 * (ADR 0016). Rules are loaded by `nft -f -` from a generated script, one transaction: the table
 * appears (or is replaced) whole or not at all, and no other table is ever read or changed, so
 * removing it restores the host's own firewall exactly. The table lives in the kernel, not in the
 * agent: a crashed agent leaves the host isolated.
 */
export class NftBackend implements IsolationBackend {
  readonly name = 'nftables';
  private readonly run: ToolRunner;

  constructor(private readonly o: NftBackendOptions = {}) {
    this.run = o.run ?? toolRunner(o.netns);
  }

  private async nft(script: string, what: string): Promise<void> {
    assertIsolationAllowed(this.o.netns);
    const r = await this.run(['nft', '-f', '-'], script);
    if (r.code !== 0) {
      const why = r.stderr.trim() || `exit code ${r.code}`;
      if (/ENOENT|not found/i.test(why) && r.code < 0) {
        throw new IsolationUnavailable(`cannot ${what}: the nft command is not installed (${why})`);
      }
      if (/Operation not permitted|EPERM/i.test(why)) {
        throw new IsolationUnavailable(`cannot ${what}: not permitted (the agent must run as root): ${why}`);
      }
      throw new Error(`cannot ${what}: nft failed: ${why}`);
    }
  }

  async apply(backend: readonly BackendAddress[], revision: number): Promise<ApplyReport> {
    await this.nft(renderRuleset(backend, revision), 'isolate the host');
    if (!(await this.isApplied()))
      throw new Error('nft accepted the rules but the isolation table is not there');
    // The table drops what is left of other connections; cut them too, so nothing hangs half-open.
    const cut = await cutConnections(this.run, backend);
    return { cutConnections: cut };
  }

  async remove(): Promise<void> {
    await this.nft(renderRemoval(), 'lift isolation');
  }

  /** isApplied only reads (`nft list table`), so it is allowed anywhere, also in test runs. */
  async isApplied(): Promise<boolean> {
    const r = await this.run(['nft', 'list', 'table', NFT_FAMILY, NFT_TABLE]);
    return r.code === 0;
  }
}
