import { type IsolationBackend, UnsupportedBackend } from './isolation-backend.js';
import { NftBackend } from './nft-backend.linux.js';

/** defaultIsolationBackend is this platform's isolation: nftables on Linux, none elsewhere yet. */
export function defaultIsolationBackend(): IsolationBackend {
  if (process.platform === 'linux') return new NftBackend();
  return new UnsupportedBackend(`host isolation is not implemented on ${process.platform} yet`);
}
