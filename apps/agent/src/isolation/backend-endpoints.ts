import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { BackendAddress } from './isolation-backend.js';
import { canonicalAddress } from './nft-ruleset.js';

/** BackendHost is a host name and port of a backend endpoint, from its URL. */
export interface BackendHost {
  host: string;
  port: number;
}

/** backendHosts turns endpoint URLs (https://, wss://) into distinct host and port pairs. */
export function backendHosts(urls: readonly string[]): BackendHost[] {
  const out = new Map<string, BackendHost>();
  for (const url of urls) {
    if (!url) continue;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      continue;
    }
    const port = Number(u.port || (u.protocol === 'http:' || u.protocol === 'ws:' ? 80 : 443));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (host) out.set(`${host} ${port}`, { host, port });
  }
  return [...out.values()];
}

/** hostKey names a backend host and port ("host port"). */
export function hostKey(h: BackendHost): string {
  return `${h.host} ${h.port}`;
}

/** Resolution is what resolving the backend hosts gave: addresses per host, and the hosts that failed. */
export interface Resolution {
  /** Addresses (with the host's port) per hostKey. */
  resolved: Map<string, BackendAddress[]>;
  failed: { host: string; port: number; error: string }[];
}

/**
 * resolveBackend looks up every backend host (the system resolver: /etc/hosts, DNS) and returns
 * each address with its port. IP literals need no lookup. A host that does not resolve within
 * `timeoutMs` is reported in `failed`; the caller keeps its previous addresses for it.
 */
export async function resolveBackend(hosts: readonly BackendHost[], timeoutMs = 3000): Promise<Resolution> {
  const resolved = new Map<string, BackendAddress[]>();
  const failed: Resolution['failed'] = [];
  await Promise.all(
    hosts.map(async (h) => {
      if (isIP(h.host)) {
        resolved.set(hostKey(h), [{ ...canonicalAddress(h.host), port: h.port }]);
        return;
      }
      try {
        const found = await Promise.race([
          lookup(h.host, { all: true, verbatim: true }),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
          ),
        ]);
        if (found.length === 0) throw new Error('no addresses');
        resolved.set(
          hostKey(h),
          found.map((a) => ({ ...canonicalAddress(a.address), port: h.port })),
        );
      } catch (err) {
        failed.push({ host: h.host, port: h.port, error: (err as Error).message });
      }
    }),
  );
  return { resolved, failed };
}
