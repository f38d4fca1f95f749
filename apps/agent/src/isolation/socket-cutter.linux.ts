import type { BackendAddress } from './isolation-backend.js';
import { canonicalAddress } from './nft-ruleset.js';
import type { ToolRunner } from './tool-runner.linux.js';

/** TcpSocket is one TCP socket as `ss -tanH` lists it. */
export interface TcpSocket {
  state: string;
  /** Exactly as ss printed them (what its filter language accepts back). */
  localText: string;
  peerText: string;
  local: { address: string; port: number };
  peer: { address: string; port: number };
}

function endpoint(text: string): { address: string; port: number } | undefined {
  const m = /^\[?(.*?)(?:%[^\]]*)?\]?:(\d+|\*)$/.exec(text);
  if (!m?.[1] || m[2] === '*') return undefined;
  try {
    return { address: canonicalAddress(m[1]).address, port: Number(m[2]) };
  } catch {
    return undefined;
  }
}

/** parseSs reads the output of `ss -tanH` (state, queues, local and peer address:port). */
export function parseSs(out: string): TcpSocket[] {
  const socks: TcpSocket[] = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const [state, , , localText, peerText] = f as [string, string, string, string, string];
    const local = endpoint(localText);
    const peer = endpoint(peerText);
    if (local && peer) socks.push({ state, localText, peerText, local, peer });
  }
  return socks;
}

function isLoopback(a: string): boolean {
  return a === '::1' || a.startsWith('127.');
}

/**
 * socketsToCut picks the TCP connections isolation must end: every one that is not listening or
 * closing down, whose peer is not loopback, not one of the host's own addresses (that traffic
 * goes over loopback), not an allowed backend address and port, and that is not DNS (port 53).
 */
export function socketsToCut(
  socks: readonly TcpSocket[],
  allowed: readonly BackendAddress[],
  localAddresses: ReadonlySet<string>,
): TcpSocket[] {
  const ok = new Set(allowed.map((b) => `${canonicalAddress(b.address).address} ${b.port}`));
  return socks.filter(
    (s) =>
      s.state !== 'LISTEN' &&
      s.state !== 'TIME-WAIT' &&
      s.state !== 'UNCONN' &&
      !isLoopback(s.peer.address) &&
      !localAddresses.has(s.peer.address) &&
      !ok.has(`${s.peer.address} ${s.peer.port}`) &&
      s.peer.port !== 53 &&
      s.local.port !== 53,
  );
}

/** localAddressesOf reads the host's own addresses from `ip -j addr show`. */
export function localAddressesOf(ipJson: string): Set<string> {
  const out = new Set<string>();
  let links: Array<{ addr_info?: Array<{ local?: string }> }>;
  try {
    links = JSON.parse(ipJson) as typeof links;
  } catch {
    return out;
  }
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      if (!a.local) continue;
      try {
        out.add(canonicalAddress(a.local).address);
      } catch {
        // not an address we can compare (should not happen)
      }
    }
  }
  return out;
}

const BATCH = 32;

/**
 * cutConnections ends established TCP connections that isolation does not allow, with the
 * kernel's socket-destroy operation (`ss -K`, SOCK_DESTROY): local programs see ECONNABORTED at
 * once instead of a connection that hangs until it times out. Returns how many were cut.
 */
export async function cutConnections(run: ToolRunner, allowed: readonly BackendAddress[]): Promise<number> {
  const [list, addrs] = await Promise.all([run(['ss', '-tanH']), run(['ip', '-j', 'addr', 'show'])]);
  if (list.code !== 0) throw new Error(`ss -tanH failed: ${list.stderr.trim()}`);
  const victims = socketsToCut(parseSs(list.stdout), allowed, localAddressesOf(addrs.stdout));
  let cut = 0;
  for (let i = 0; i < victims.length; i += BATCH) {
    const filter: string[] = [];
    for (const v of victims.slice(i, i + BATCH)) {
      if (filter.length) filter.push('or');
      filter.push('(', 'src', v.localText, 'and', 'dst', v.peerText, ')');
    }
    const r = await run(['ss', '-K', '-tnH', ...filter]);
    if (r.code !== 0) throw new Error(`ss -K failed: ${r.stderr.trim()}`);
    cut += r.stdout.split('\n').filter((l) => l.trim()).length;
  }
  return cut;
}
