import { SocketAddress, isIPv4, isIPv6 } from 'node:net';
import type { BackendAddress } from './isolation-backend.js';

/** NFT_TABLE is the one nftables table Palisade owns (family inet: IPv4 and IPv6 alike). */
export const NFT_TABLE = 'palisade_isolation';
export const NFT_FAMILY = 'inet';

/**
 * canonicalAddress checks that `address` is a plain IPv4 or IPv6 address and returns it in
 * canonical form (IPv4-mapped IPv6 becomes IPv4). Anything else (a host name, a zone, a prefix,
 * text that is not an address) throws: only checked addresses ever reach the ruleset.
 */
export function canonicalAddress(address: string): { address: string; family: 4 | 6 } {
  const a = address.replace(/^\[|\]$/g, '');
  if (isIPv4(a)) return { address: new SocketAddress({ address: a, family: 'ipv4' }).address, family: 4 };
  if (isIPv6(a) && !a.includes('%')) {
    const c = new SocketAddress({ address: a, family: 'ipv6' }).address;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(c);
    if (mapped?.[1]) return { address: mapped[1], family: 4 };
    return { address: c, family: 6 };
  }
  throw new Error(`not an IP address: ${JSON.stringify(address)}`);
}

function checkedBackend(backend: readonly BackendAddress[]): BackendAddress[] {
  const seen = new Set<string>();
  const out: BackendAddress[] = [];
  for (const b of backend) {
    if (!Number.isInteger(b.port) || b.port < 1 || b.port > 65535) {
      throw new Error(`backend port must be an integer from 1 to 65535, got ${JSON.stringify(b.port)}`);
    }
    const c = canonicalAddress(b.address);
    const key = `${c.address} ${b.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...c, port: b.port });
  }
  return out;
}

function elements(backend: BackendAddress[], family: 4 | 6): string {
  const e = backend.filter((b) => b.family === family).map((b) => `${b.address} . ${b.port}`);
  return e.length ? `\n\t\telements = { ${e.join(', ')} }` : '';
}

/** ICMPv6 that IPv6 needs to work on the link (neighbour and router discovery; hop limit 255). */
const ND_OUT = 'nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert';
const ND_IN = 'nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect';
/** ICMP errors that belong to an allowed connection (path MTU discovery, unreachables). */
const ICMP6_ERRORS = 'destination-unreachable, packet-too-big, time-exceeded, parameter-problem';
const ICMP4_ERRORS = 'destination-unreachable, time-exceeded, parameter-problem';

/**
 * renderRuleset is the nft script that isolates the host: one transaction that creates the table
 * if needed, deletes it (with anything an earlier apply left in it) and defines it anew, so the
 * kernel switches from the old rules to the new ones atomically. What is allowed:
 * - loopback, both ways;
 * - TCP to and from each backend address and port (no connection-tracking state is required, so
 *   the agent's own connections survive a conntrack flush);
 * - DNS: UDP and TCP to port 53 from every process, and the answers (established flows only, so
 *   "source port 53" does not open the host);
 * - DHCPv4 and DHCPv6 client traffic, ICMPv6 neighbour/router discovery (hop limit 255) and MLD
 *   reports, and ICMP errors related to allowed flows.
 * Everything else is dropped on input and forwarding; outgoing packets are rejected (TCP reset,
 * ICMP administratively prohibited) so local programs fail at once instead of hanging. No rule
 * accepts by connection state alone, so connections opened before isolation get no way through.
 * Only checked addresses and integer ports are written into the script.
 */
export function renderRuleset(backend: readonly BackendAddress[], revision: number): string {
  if (!Number.isSafeInteger(revision) || revision < 0) throw new Error(`bad isolation revision ${revision}`);
  const b = checkedBackend(backend);
  return `table ${NFT_FAMILY} ${NFT_TABLE} {}
delete table ${NFT_FAMILY} ${NFT_TABLE}
table ${NFT_FAMILY} ${NFT_TABLE} {
	comment "Palisade host isolation, revision ${revision}: only the Palisade backend, DNS, DHCP and IPv6 neighbour discovery"
	set backend4 {
		type ipv4_addr . inet_service${elements(b, 4)}
	}
	set backend6 {
		type ipv6_addr . inet_service${elements(b, 6)}
	}
	chain input {
		type filter hook input priority filter - 50; policy drop;
		iif "lo" accept
		ip saddr . tcp sport @backend4 accept
		ip6 saddr . tcp sport @backend6 accept
		meta l4proto { tcp, udp } th sport 53 ct state established accept
		udp sport 67 udp dport 68 accept
		udp sport 547 udp dport 546 accept
		icmpv6 type { ${ND_IN} } ip6 hoplimit 255 accept
		icmpv6 type { ${ICMP6_ERRORS} } ct state related accept
		icmp type { ${ICMP4_ERRORS} } ct state related accept
	}
	chain forward {
		type filter hook forward priority filter - 50; policy drop;
	}
	chain output {
		type filter hook output priority filter - 50; policy drop;
		oif "lo" accept
		ip daddr . tcp dport @backend4 accept
		ip6 daddr . tcp dport @backend6 accept
		meta l4proto { tcp, udp } th dport 53 accept
		udp sport 68 udp dport 67 accept
		udp sport 546 udp dport 547 accept
		icmpv6 type { ${ND_OUT} } ip6 hoplimit 255 accept
		icmpv6 type { mld-listener-report, mld2-listener-report } accept
		icmpv6 type { ${ICMP6_ERRORS} } ct state related accept
		icmp type { ${ICMP4_ERRORS} } ct state related accept
		meta l4proto tcp reject with tcp reset
		reject with icmpx type admin-prohibited
	}
}
`;
}

/** renderRemoval deletes the table if it exists, in one transaction (removing twice is harmless). */
export function renderRemoval(): string {
  return `table ${NFT_FAMILY} ${NFT_TABLE} {}\ndelete table ${NFT_FAMILY} ${NFT_TABLE}\n`;
}
