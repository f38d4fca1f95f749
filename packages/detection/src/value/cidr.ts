/**
 * IP addresses and CIDR ranges (IPv4 and IPv6) for the `cidr` modifier. Addresses are compared
 * as 128-bit numbers held in four 32-bit words; IPv4 lives in its own family (an IPv4-mapped
 * IPv6 address `::ffff:a.b.c.d` is read as IPv4, as the kernel reports v4 peers on v6 sockets).
 */
export interface IpAddress {
  v6: boolean;
  words: Uint32Array;
}

/** parseIp reads a textual IPv4 or IPv6 address (an IPv6 zone `%eth0` is ignored), or null. */
export function parseIp(s: string): IpAddress | null {
  const text = s.trim();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const b = text.split('.').map(Number);
    if (b.some((x) => x > 255)) return null;
    return { v6: false, words: Uint32Array.of(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) };
  }
  const zone = text.indexOf('%');
  const t = zone >= 0 ? text.slice(0, zone) : text;
  if (!t.includes(':') || !/^[0-9a-fA-F:.]+$/.test(t)) return null;
  let groups: number[] = [];
  const halves = t.split('::');
  if (halves.length > 2) return null;
  const part = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    const items = h.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseIp(it);
        if (!v4 || v4.v6) return null;
        out.push(v4.words[0]! >>> 16, v4.words[0]! & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
        out.push(Number.parseInt(it, 16));
      }
    }
    return out;
  };
  const a = part(halves[0]!);
  const b = halves.length === 2 ? part(halves[1]!) : [];
  if (!a || !b) return null;
  if (halves.length === 2) {
    const fill = 8 - a.length - b.length;
    if (fill < 1) return null;
    groups = [...a, ...new Array<number>(fill).fill(0), ...b];
  } else groups = a;
  if (groups.length !== 8) return null;
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  // IPv4-mapped: ::ffff:a.b.c.d
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff)
    return { v6: false, words: Uint32Array.of(words[3]!) };
  return { v6: true, words };
}

/** Cidr is a parsed network range. */
export interface Cidr {
  net: IpAddress;
  bits: number;
  text: string;
}

/** parseCidr reads `a.b.c.d/n` or `x::/n` (a bare address is a /32 or /128), or throws. */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) throw new Error(`'${s}' is not a CIDR network (a.b.c.d/n or an IPv6 prefix)`);
  const max = ip.v6 ? 128 : 32;
  const bits = slash < 0 ? max : Number(s.slice(slash + 1));
  if (
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > max ||
    (slash >= 0 && !/^\d+$/.test(s.slice(slash + 1)))
  ) {
    throw new Error(`'${s}' has a bad prefix length (0..${max})`);
  }
  return { net: ip, bits, text: s };
}

/** inCidr tells whether an address lies in the range. */
export function inCidr(ip: IpAddress, c: Cidr): boolean {
  if (ip.v6 !== c.net.v6) return false;
  let left = c.bits;
  for (let i = 0; i < c.net.words.length && left > 0; i++) {
    const n = Math.min(32, left);
    const mask = n === 32 ? 0xffffffff : ~(0xffffffff >>> n) >>> 0;
    if ((ip.words[i]! & mask) >>> 0 !== (c.net.words[i]! & mask) >>> 0) return false;
    left -= n;
  }
  return true;
}
